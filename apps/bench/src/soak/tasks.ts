// What a soak task asks its worker to do (shared by the soak and its workers).

/** Tasks of the plain chaos module. */
export type PlainTask =
  | { readonly kind: 'ok'; readonly n: number }
  | { readonly kind: 'exit'; readonly n: number }
  | { readonly kind: 'throw'; readonly n: number }
  | { readonly kind: 'hog'; readonly n: number }
  | { readonly kind: 'hang'; readonly n: number };

/** Tasks of the defineRunner chaos module. */
export type DefinedTask =
  | { readonly kind: 'ok'; readonly n: number; readonly emits: number }
  | { readonly kind: 'stall'; readonly n: number; readonly stallMs: number }
  | { readonly kind: 'fail'; readonly n: number }
  | { readonly kind: 'hang'; readonly n: number };
