// mDNS / DNS-SD event types, fields and anomaly codes (RFC 6762, RFC 6763).
import { identitySchema } from '../datagram.js';
import type { ProtocolSchema } from '../types.js';
import { list, num, obj } from '../schema.js';
import type { FieldSpec } from '../types.js';

/** A list of names that identify a device or service, element by element. */
const names = (doc: string): FieldSpec => ({ ...list(doc), identifier: true });

/** TXT keys whose values are kept (RFC 6763 §6: values are opaque; these name a model, maker or firmware). */
export const TXT_VALUE_KEYS: ReadonlySet<string> = new Set([
  'md',
  'model',
  'manufacturer',
  'mfg',
  'fw',
  'fwver',
  'ty',
  'product',
  'vendor',
  'usb_mfg',
  'usb_mdl',
  'am',
]);

export const ANOMALIES = {
  'mdns.malformed': {
    malformed: true,
    doc: 'Shorter than the DNS header, a name or record running past the message, or a compression loop.',
  },
  'mdns.limit_exceeded': {
    malformed: false,
    doc: 'A string or list over its cap (256 characters, 32 items, 64 records read): kept cut, the count in `cut`.',
  },
} as const;

export const mdnsSchema: ProtocolSchema = {
  ...identitySchema(
    'mdns',
    'mDNS / DNS-SD',
    {
      query: 'An mDNS query (QR = 0): what a host looks for, e.g. `_dicom._tcp.local`',
      response: 'An mDNS response (QR = 1): what a host announces about itself',
    },
    {
      questions: num('question count (header)'),
      answers: num('answer, authority and additional records (header counts)'),
      services: names('service types named (`_dicom._tcp.local`, `_ipp._tcp.local`, ...)'),
      instances: names('service instance names (`Modality 3._dicom._tcp.local`)'),
      hosts: names('host names of A/AAAA records and SRV targets'),
      txt_keys: list('TXT record keys'),
      txt: obj('TXT values of the allowlisted keys only (md, model, manufacturer, fw, ty, ...)'),
    },
    ANOMALIES,
  ),
  identity: [
    // What a host announces about itself, in its responses; the TXT keys are the allowlisted ones.
    { types: ['response'], field: 'hosts', attr: 'hostname', side: 'src', max: 2 },
    { types: ['response'], field: 'txt.manufacturer', attr: 'make', side: 'src' },
    { types: ['response'], field: 'txt.md', attr: 'model', side: 'src', tracked: true },
    { types: ['response'], field: 'txt.model', attr: 'model', side: 'src', tracked: true },
    { types: ['response'], field: 'txt.fw', attr: 'firmware', side: 'src', tracked: true },
  ],
};
