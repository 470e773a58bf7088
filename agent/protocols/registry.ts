// The analyzers wardwatch ships: adding a protocol is one line here.
import { dicomSpec } from './dicom/index.js';
import { hl7Spec } from './hl7/index.js';
import { mqttSpec } from './mqtt/index.js';
import type { AnalyzerSpec } from './types.js';

export const ANALYZERS: readonly AnalyzerSpec[] = [hl7Spec, dicomSpec, mqttSpec];
