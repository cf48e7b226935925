// Types for wechat-face-verify-client, and for the WeChat face APIs it calls (the public
// mini-program typings, miniprogram-api-typings, have neither wx.requestFacialVerify nor
// wx.startFacialRecognitionVerify).

/** What every WeChat callback failure carries. */
export interface WxFailure {
  errMsg?: string;
  errCode?: number;
  errno?: number;
}

export interface WxRequestOptions {
  url: string;
  method?: string;
  data?: unknown;
  header?: Record<string, string>;
  timeout?: number;
  success?: (res: { statusCode: number; data: unknown }) => void;
  fail?: (err: WxFailure) => void;
}

/** wx.checkIsSupportFacialRecognition (face API 1.0). */
export interface CheckIsSupportFacialRecognitionOptions {
  /** 0 read digits, 1 silent, 2 either (WeChat chooses). */
  checkAliveType?: 0 | 1 | 2;
  success?: (res: { errCode: number; errMsg?: string }) => void;
  fail?: (err: { errCode: number; errMsg?: string }) => void;
  complete?: (res: { errCode: number; errMsg?: string }) => void;
}

/** wx.startFacialRecognitionVerify / wx.startFacialRecognitionVerifyAndUploadVideo (1.0). */
export interface StartFacialRecognitionVerifyOptions {
  /** The backend's key (POST /v1/face/keys, user_id_key). */
  userIdKey: string;
  checkAliveType?: 0 | 1 | 2;
  /** errCode 0 is WeChat's pass; verifyResult is what the backend looks the result up by. */
  success?: (res: { errCode: number; errMsg?: string; verifyResult: string }) => void;
  fail?: (res: { errCode: number; errMsg?: string; verifyResult?: string }) => void;
  complete?: (res: { errCode: number; errMsg?: string; verifyResult?: string }) => void;
}

/** wx.requestFacialVerify (face API 2.0, base library 3.8.12 or later). */
export interface RequestFacialVerifyOptions {
  /** The backend's key (POST /v1/face/keys, verify_id); also what the result is looked up by. */
  verifyId: string;
  success?: (res: { errCode: number; errMsg?: string }) => void;
  fail?: (err: { errCode: number; errMsg?: string }) => void;
  complete?: (res: { errCode: number; errMsg?: string }) => void;
}

/** What the client calls on `wx` (or on a framework's object that forwards to it: uni, Taro). */
export interface FaceVerifyWx {
  login(options: { success?: (res: { code: string }) => void; fail?: (err: WxFailure) => void }): unknown;
  request(options: WxRequestOptions): unknown;
  canIUse?(schema: string): boolean;
  getAppBaseInfo?(): { SDKVersion: string };
  getSystemInfoSync?(): { SDKVersion: string };
  requirePrivacyAuthorize?(options: { success?: (res: { errMsg: string }) => void; fail?: (err: WxFailure) => void }): unknown;
  checkIsSupportFacialRecognition?(options: CheckIsSupportFacialRecognitionOptions): unknown;
  startFacialRecognitionVerify?(options: StartFacialRecognitionVerifyOptions): unknown;
  startFacialRecognitionVerifyAndUploadVideo?(options: StartFacialRecognitionVerifyOptions): unknown;
  requestFacialVerify?(options: RequestFacialVerifyOptions): unknown;
}

export interface FaceVerifyClientOptions {
  /** Your API's domain (HTTPS, ICP-filed, a request domain in the console). */
  baseUrl: string;
  /** The deployment's FaceApiVersion. Default 2. */
  apiVersion?: 1 | 2;
  /** 1.0 only. Default 2. */
  checkAliveType?: 0 | 1 | 2;
  /** 1.0 only: wx.startFacialRecognitionVerifyAndUploadVideo. Default false. */
  uploadVideo?: boolean;
  /** Default: the global wx. */
  wx?: FaceVerifyWx;
  /** How many more times verify() asks for a result WeChat has not finished (10005, 10300). Default 3. */
  pollAttempts?: number;
  /** Milliseconds between those asks. Default 2000. */
  pollIntervalMs?: number;
}

export interface Person {
  name: string;
  idCardNumber: string;
  orderId?: never;
}

/** An order the business's servers created for this user (POST /v1/face/orders): they chose
 * whose identity is checked; the order alone, never a name, number or bizRef with it. */
export interface OrderRef {
  orderId: string;
  name?: never;
  idCardNumber?: never;
}

export interface VerifyOptions {
  /** Your own reference (1-64 of A-Za-z0-9_.:-, never personal data), returned in the result. */
  bizRef?: string;
}

export interface FaceKeyV1 {
  api_version: 1;
  user_id_key: string;
  expires_in: number;
}

export interface FaceKeyV2 {
  api_version: 2;
  verify_id: string;
  expires_in: number;
}

/** The backend's result (POST /v1/face/results, GET /v1/face/results/latest). */
export interface FaceResult {
  api_version: 1 | 2;
  /** The backend's verdict: WeChat passed the check and it is bound to the identity issued. */
  passed: boolean;
  result_code: number;
  message: string;
  message_zh: string;
  identity_matched: boolean | null;
  verified_at: number;
  validate_data: string | null;
  biz_ref: string | null;
  /** The business's order the identity came from (null: typed by the user). */
  order_id: string | null;
  /** Who chose the identity checked: the user, or the business's own servers. */
  identity_source: 'user' | 'business';
}

export type VerifyOutcome =
  | {
      passed: boolean;
      resultCode: number;
      message: string;
      fromBackend: true;
      /** false: WeChat had not finished the check after the polling; no verdict yet. */
      finished: boolean;
      result: FaceResult;
    }
  | { passed: false; resultCode: number; message: string; fromBackend: false };

export type FaceVerifyErrorKind = 'privacy' | 'unsupported' | 'network' | 'server' | 'rejected' | 'session';

/** Every failure of the client: `message` is a short Chinese sentence fit to show a user. */
export class FaceVerifyError extends Error {
  constructor(kind: FaceVerifyErrorKind, message: string, details?: Record<string, unknown>);
  readonly kind: FaceVerifyErrorKind;
  readonly details: Record<string, unknown>;
}

export interface FaceVerifyClient {
  /** The whole flow: privacy, device check, login, key, face check, the backend's verdict. */
  verify(person: Person, options?: VerifyOptions): Promise<VerifyOutcome>;
  /** The same flow for the identity of the business's order (no options: its biz_ref is the order's). */
  verify(order: OrderRef): Promise<VerifyOutcome>;
  /** wx.login → POST /v1/session; resolves with the session token. */
  login(): Promise<string>;
  /** The privacy authorisation: call it when the user starts typing a name or ID number. */
  ensurePrivacy(): Promise<void>;
  checkSupport(): Promise<void>;
  requestKey(name: string, idCardNumber: string, bizRef?: string): Promise<FaceKeyV1 | FaceKeyV2>;
  /** POST /v1/face/keys with { order_id } alone. */
  requestKeyForOrder(orderId: string): Promise<FaceKeyV1 | FaceKeyV2>;
  startFaceCheck(key: FaceKeyV1 | FaceKeyV2): Promise<{ errCode: number; reference: string | undefined }>;
  fetchResult(reference: string): Promise<FaceResult>;
  latest(): Promise<FaceResult>;
  /** DELETE /v1/me: everything stored about the user, and their sessions. */
  eraseMe(): Promise<unknown>;
}

export function createFaceVerifyClient(options: FaceVerifyClientOptions): FaceVerifyClient;
export function compareVersion(a: string, b: string): -1 | 0 | 1;
export const MIN_BASE_LIBRARY_V2: string;

/** Short Chinese messages for every code a face check can end with. */
export declare namespace messages {
  /** 1.0: the face check's callback errCode (and the backend's identify_ret). */
  const CALLBACK: Readonly<Record<number, string>>;
  /** 2.0: the backend's verify_ret and the device's 9xxxx codes. */
  const VERIFY_RET: Readonly<Record<number, string>>;
  /** 1.0: wx.checkIsSupportFacialRecognition's errCode. */
  const SUPPORT_CHECK: Readonly<Record<number, string>>;
  function callbackMessage(code: number): string;
  function verifyRetMessage(code: number): string;
  function supportMessage(code: number): string;
  /** Whether a face check ended on the device (the backend is not asked). */
  function endedOnDevice(apiVersion: 1 | 2, code: number): boolean;
  /** Whether the backend's result_code says WeChat has not finished the check (not stored). */
  function notFinished(apiVersion: 1 | 2, code: number): boolean;
}

// For projects using miniprogram-api-typings: WeChat's face APIs on its `wx`.
declare global {
  namespace WechatMiniprogram {
    interface Wx {
      checkIsSupportFacialRecognition(options: CheckIsSupportFacialRecognitionOptions): void;
      startFacialRecognitionVerify(options: StartFacialRecognitionVerifyOptions): void;
      startFacialRecognitionVerifyAndUploadVideo(options: StartFacialRecognitionVerifyOptions): void;
      requestFacialVerify(options: RequestFacialVerifyOptions): void;
    }
  }
}
