-- Version 2: a device is looked up by its IP or MAC as well as its id (/api/devices/KEY, the cards of a finding,
-- the baseline review): indexes on the addresses inside the device document, so the lookup does not read every
-- device. The expressions are the ones store-pg.ts getDevice queries with.
CREATE INDEX devices_doc_ip ON devices ((json::jsonb ->> 'ip'));
CREATE INDEX devices_doc_mac ON devices ((json::jsonb ->> 'mac'));
