// Compiled by `tsc --noEmit` in the tests: how a TypeScript mini-program uses the package. The
// lines marked as expected errors must fail to type-check, or tsc reports the marker unused.
import {
  createFaceVerifyClient,
  FaceVerifyError,
  messages,
  type FaceVerifyErrorKind,
  type FaceVerifyWx,
} from '../lib/index';

declare const wx: FaceVerifyWx;

export async function run(): Promise<string> {
  const client = createFaceVerifyClient({ wx, baseUrl: 'https://face.example.com', apiVersion: 2 });
  // The privacy notice before the user types (the page's focus handler).
  await client.ensurePrivacy();
  try {
    const outcome = await client.verify({ name: '张三', idCardNumber: '11010519491231002X' }, { bizRef: 'order-1' });
    if (outcome.fromBackend) {
      const matched: boolean | null = outcome.result.identity_matched;
      const code: number = outcome.result.result_code;
      return `${outcome.message} ${code} ${String(matched)}`;
    }
    return messages.verifyRetMessage(outcome.resultCode);
  } catch (err) {
    if (err instanceof FaceVerifyError) {
      const kind: FaceVerifyErrorKind = err.kind;
      return `${kind}: ${err.message}`;
    }
    throw err;
  }
}

export async function mistakes(): Promise<void> {
  // @ts-expect-error apiVersion is the deployment's FaceApiVersion: 1 or 2
  createFaceVerifyClient({ wx, baseUrl: 'https://face.example.com', apiVersion: 3 });
  // @ts-expect-error baseUrl is required
  createFaceVerifyClient({ wx });
  const client = createFaceVerifyClient({ wx, baseUrl: 'https://face.example.com' });
  // An order is the business's: its identity never travels with it.
  const byOrder = await client.verify({ orderId: 'ord_0123456789abcdef0123456789abcdef' });
  if (byOrder.fromBackend) {
    const source: 'user' | 'business' = byOrder.result.identity_source;
    const order: string | null = byOrder.result.order_id;
    void source;
    void order;
  }
  // @ts-expect-error an order takes no name with it
  await client.verify({ orderId: 'ord_0123456789abcdef0123456789abcdef', name: '张三' });
  // @ts-expect-error an order takes no bizRef: the order's is kept
  await client.verify({ orderId: 'ord_0123456789abcdef0123456789abcdef' }, { bizRef: 'mine' });
  // @ts-expect-error a person has an idCardNumber
  await client.verify({ name: '张三' });
  const key = await client.requestKey('张三', '11010519491231002X');
  if (key.api_version === 2) {
    const id: string = key.verify_id;
    void id;
  } else {
    // @ts-expect-error a 1.0 key has no verify_id
    void key.verify_id;
  }
}

// WeChat's face APIs on miniprogram-api-typings' wx, as the package declares them.
declare const realWx: WechatMiniprogram.Wx;
realWx.requestFacialVerify({
  verifyId: 'vid',
  success: (res) => {
    const code: number = res.errCode;
    void code;
  },
});
// @ts-expect-error requestFacialVerify takes a verifyId
realWx.requestFacialVerify({ userIdKey: 'uik' });
realWx.startFacialRecognitionVerify({ userIdKey: 'uik', checkAliveType: 2, success: (res) => void res.verifyResult });
