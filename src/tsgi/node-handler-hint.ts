/**
 * A Node `(req, res)` handler served as TSGI (a SvelteKit or Astro `handler`
 * named by --callable-object, say) fails in recognisable ways: its second
 * argument, startResponse, has no writeHead/setHeader/end, its third (`next`) is
 * missing, and it returns nothing. The error log then says what to do.
 */
const RES_METHOD = /\b(?:writeHead|setHeader|getHeader|removeHeader|end|send|json|status|redirect|flushHeaders|next) is not a function/;

export const NODE_HANDLER_HINT =
  ' (this looks like a Node (req, res) handler called as TSGI: try --interface node)';

/** The hint for an error a node handler would throw when called as TSGI; '' otherwise. */
export function nodeHandlerHint(err: unknown): string {
  return err instanceof TypeError && RES_METHOD.test(err.message) ? NODE_HANDLER_HINT : '';
}
