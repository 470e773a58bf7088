// The product version, written once (issue 12: it was written in four places). The agent says it in its hello, the
// collector in its logs and exports (CEF device version, ECS observer.version, OCSF metadata.product.version).
// test/wire/version.test.ts holds it equal to package.json's.
export const WARDWATCH_VERSION = '0.1.0';
