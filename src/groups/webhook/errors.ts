/** An answer the webhook handler gives instead of running the app: status, a stable code and a safe message. */
export class WebhookHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'WebhookHttpError';
  }

  /** The JSON body every webhook error answer carries. */
  toBody(): { status: 'error'; code: string; message: string } {
    return { status: 'error', code: this.code, message: this.message };
  }
}
