import type { FieldError } from '../../contract/event.ts';

/**
 * Request body decoding (pure). Batches are a JSON array or NDJSON (one event per line; blank
 * lines ignored). A malformed NDJSON line rejects only that event; a malformed JSON document
 * rejects the request.
 */
export type DecodedBody =
  | { readonly ok: true; readonly items: readonly DecodedItem[] }
  | {
      readonly ok: false;
      readonly status: 400 | 413;
      readonly error: string;
      readonly details: FieldError[];
    };

export type DecodedItem = { readonly value: unknown } | { readonly error: FieldError };

export const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl']);

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export function decodeSingle(raw: Buffer): DecodedBody {
  const parsed = parseJson(raw.toString('utf8'));
  if ('error' in parsed) return { ok: false, status: 400, error: 'INVALID_JSON', details: [parsed.error] };
  return { ok: true, items: [parsed] };
}

export function decodeBatch(raw: Buffer, media: string, maxEvents: number): DecodedBody {
  const text = raw.toString('utf8');
  let items: DecodedItem[];
  if (NDJSON_TYPES.has(media)) {
    items = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.length > 0)
      .map(parseJson);
  } else {
    const parsed = parseJson(text);
    if ('error' in parsed) return { ok: false, status: 400, error: 'INVALID_JSON', details: [parsed.error] };
    if (!Array.isArray(parsed.value)) {
      return {
        ok: false,
        status: 400,
        error: 'INVALID_BATCH',
        details: [{ path: '', reason: 'expected a JSON array of events' }],
      };
    }
    items = parsed.value.map((value) => ({ value }));
  }
  if (items.length === 0) {
    return {
      ok: false,
      status: 400,
      error: 'EMPTY_BATCH',
      details: [{ path: '', reason: 'batch has no events' }],
    };
  }
  if (items.length > maxEvents) {
    return {
      ok: false,
      status: 413,
      error: 'BATCH_TOO_LARGE',
      details: [{ path: '', reason: `at most ${maxEvents} events per batch, got ${items.length}` }],
    };
  }
  return { ok: true, items };
}

function parseJson(text: string): DecodedItem {
  if (text.trim().length === 0) return { error: { path: '', reason: 'empty body' } };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { error: { path: '', reason: `invalid JSON: ${(err as Error).message}` } };
  }
}
