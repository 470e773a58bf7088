// Raw IP link types (LINKTYPE_RAW 101, LINKTYPE_IPV4 228, LINKTYPE_IPV6 229): the version nibble names the header.
import { EtherType, type Layer, type LayerResult } from './layer.js';

export function decodeRaw(d: Uint8Array, l: Layer): LayerResult {
  if (l.off >= l.end) return 'truncated';
  const version = d[l.off]! >> 4;
  if (version === 4) l.next = EtherType.IPV4;
  else if (version === 6) l.next = EtherType.IPV6;
  else return 'bad_header';
  return null;
}
