'use strict';
// A dependency-free client for the face-verification backend, for WeChat mini-programs.
//
//   const { createFaceVerifyClient } = require('wechat-face-verify-client'); // after 构建 npm
//   // or, copied into the project: require('../../faceverify/lib/index')
//   const client = createFaceVerifyClient({ baseUrl: 'https://face.example.com', apiVersion: 2 });
//   const result = await client.verify({ name, idCardNumber });
//   // or, for an order the business's servers created (they chose whose identity is checked):
//   const result = await client.verify({ orderId });
//   // result.passed comes from the backend; the front end never decides it.
//
// It asks for the privacy authorisation, checks the device, logs in (wx.login → /v1/session,
// once again after a 401), asks the backend for the face-check key, runs WeChat's face check
// (1.0 wx.startFacialRecognitionVerify, 2.0 wx.requestFacialVerify) and asks the backend for the
// result. Every failure is a FaceVerifyError with a short Chinese message fit to show a user.

const messages = require('./messages');

const MIN_BASE_LIBRARY_V2 = '3.8.12'; // wx.requestFacialVerify

class FaceVerifyError extends Error {
  // kind: privacy | unsupported | network | server | rejected | session
  constructor(kind, message, details) {
    super(message);
    this.name = 'FaceVerifyError';
    this.kind = kind;
    this.details = details || {};
  }
}

function compareVersion(a, b) {
  const pa = String(a).split('.').map((n) => parseInt(n, 10) || 0);
  const pb = String(b).split('.').map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const d = (pa[i] || 0) - (pb[i] || 0);
    if (d !== 0) return d > 0 ? 1 : -1;
  }
  return 0;
}

function newIdempotencyKey() {
  const hex = '0123456789abcdef';
  let key = '';
  for (let i = 0; i < 32; i += 1) key += hex[Math.floor(Math.random() * 16)];
  return key;
}

function promisify(api, options) {
  return new Promise((resolve, reject) => {
    api(Object.assign({}, options, { success: resolve, fail: reject }));
  });
}

function createFaceVerifyClient(options) {
  // pollAttempts / pollIntervalMs: how often a result WeChat has not finished yet (10005, 10300)
  // is asked for again, and how long apart (each counts against the user's lookup limit).
  const settings = Object.assign(
    { apiVersion: 2, checkAliveType: 2, uploadVideo: false, pollAttempts: 3, pollIntervalMs: 2000 },
    options,
  );
  const wxApi = settings.wx || (typeof wx !== 'undefined' ? wx : undefined); // eslint-disable-line no-undef
  if (!wxApi) throw new Error('createFaceVerifyClient needs the wx object');
  if (!settings.baseUrl) throw new Error('createFaceVerifyClient needs baseUrl');
  const baseUrl = settings.baseUrl.replace(/\/+$/, '');
  const apiVersion = Number(settings.apiVersion);
  let sessionToken = null;

  function request(method, path, body, headers) {
    return new Promise((resolve, reject) => {
      wxApi.request({
        url: baseUrl + path,
        method,
        data: body === undefined ? undefined : body,
        header: Object.assign({ 'content-type': 'application/json' }, headers || {}),
        timeout: 20000,
        success: (res) => resolve({ status: res.statusCode, data: res.data }),
        fail: (err) => reject(new FaceVerifyError('network', '网络不可用，请检查网络后重试', { errMsg: err && err.errMsg })),
      });
    });
  }

  function errorOf(response) {
    const error = (response.data && response.data.error) || {};
    const status = response.status;
    if (status === 401) return new FaceVerifyError('session', '登录已过期，请重新登录', error);
    if (status === 429) return new FaceVerifyError('rejected', error.message_zh || '操作过于频繁，请稍后再试', error);
    if (status >= 500) return new FaceVerifyError('server', error.message_zh || '服务暂不可用，请稍后重试', error);
    return new FaceVerifyError('rejected', error.message_zh || '请求有误，请核对后重试', error);
  }

  async function login() {
    let code;
    try {
      code = (await promisify(wxApi.login, {})).code;
    } catch (err) {
      throw new FaceVerifyError('session', '微信登录失败，请重试', { errMsg: err && err.errMsg });
    }
    const response = await request('POST', '/v1/session', { code });
    if (response.status !== 200) throw errorOf(response);
    sessionToken = response.data.token;
    return sessionToken;
  }

  // A call with the session token; after a 401, log in again and retry once.
  async function authed(method, path, body, headers) {
    if (!sessionToken) await login();
    let response = await request(method, path, body, Object.assign({ Authorization: 'Bearer ' + sessionToken }, headers));
    if (response.status === 401) {
      await login();
      response = await request(method, path, body, Object.assign({ Authorization: 'Bearer ' + sessionToken }, headers));
    }
    if (response.status < 200 || response.status >= 300) throw errorOf(response);
    return response.data;
  }

  // Feature checks: wx.canIUse where WeChat has it (it knows the running base library), else
  // whether the function exists (stand-ins, frameworks that forward WeChat's APIs).
  function canUse(api) {
    if (typeof wxApi.canIUse === 'function') return wxApi.canIUse(api) === true && typeof wxApi[api] === 'function';
    return typeof wxApi[api] === 'function';
  }

  async function ensurePrivacy() {
    // Base library >= 2.32.3: the user must agree to the privacy guide before the name and ID
    // number are collected, so call this when the user starts typing them (the sample page does,
    // on focus), not only at submit; verify() calls it again, which costs nothing once agreed.
    // The page shows the notice (onNeedPrivacyAuthorization).
    if (!canUse('requirePrivacyAuthorize')) return;
    try {
      await promisify(wxApi.requirePrivacyAuthorize, {});
    } catch (err) {
      throw new FaceVerifyError('privacy', '需要您同意隐私保护指引后才能进行人脸核身', { errMsg: err && err.errMsg });
    }
  }

  function baseLibraryVersion() {
    if (canUse('getAppBaseInfo')) return wxApi.getAppBaseInfo().SDKVersion;
    if (typeof wxApi.getSystemInfoSync === 'function') return wxApi.getSystemInfoSync().SDKVersion;
    return '0';
  }

  async function checkSupport() {
    if (apiVersion === 2) {
      const version = baseLibraryVersion();
      if (!canUse('requestFacialVerify') || compareVersion(version, MIN_BASE_LIBRARY_V2) < 0) {
        throw new FaceVerifyError('unsupported', '当前微信版本过低，请升级微信后再进行人脸核身', {
          baseLibrary: version,
          required: MIN_BASE_LIBRARY_V2,
        });
      }
      return;
    }
    try {
      await promisify(wxApi.checkIsSupportFacialRecognition, { checkAliveType: settings.checkAliveType });
    } catch (err) {
      const code = err && err.errCode;
      throw new FaceVerifyError('unsupported', messages.supportMessage(code), { errCode: code });
    }
  }

  async function requestKey(name, idCardNumber, bizRef) {
    // One Idempotency-Key per user action. A request lost on the network is sent once more with
    // the same key: if the first one did reach the backend, the answer is the same key, without a
    // second WeChat call and without counting twice against the user's limit.
    const body = { name, id_card_number: idCardNumber };
    // The business's own reference (an order, an account; never personal data): 1-64 of
    // [A-Za-z0-9_.:-]. The backend keeps it with the key and answers it in the result.
    if (bizRef !== undefined && bizRef !== null) body.biz_ref = bizRef;
    const headers = { 'Idempotency-Key': newIdempotencyKey() };
    if (!sessionToken) await login(); // a failed login is not retried here
    try {
      return await authed('POST', '/v1/face/keys', body, headers);
    } catch (err) {
      if (!(err instanceof FaceVerifyError) || err.kind !== 'network') throw err;
      return authed('POST', '/v1/face/keys', body, headers);
    }
  }

  // The key for the identity of an order the business's servers created for this user: the
  // order alone (its identity and biz_ref are the business's), with the same retry as above.
  async function requestKeyForOrder(orderId) {
    const body = { order_id: orderId };
    const headers = { 'Idempotency-Key': newIdempotencyKey() };
    if (!sessionToken) await login();
    try {
      return await authed('POST', '/v1/face/keys', body, headers);
    } catch (err) {
      if (!(err instanceof FaceVerifyError) || err.kind !== 'network') throw err;
      return authed('POST', '/v1/face/keys', body, headers);
    }
  }

  // Runs WeChat's face check; resolves with { errCode, reference } where reference is what the
  // backend looks the result up by (1.0 verifyResult, 2.0 the verify_id).
  function startFaceCheck(key) {
    return new Promise((resolve) => {
      const done = (res) => {
        const errCode = res && typeof res.errCode === 'number' ? res.errCode : 0;
        resolve({ errCode, reference: apiVersion === 2 ? key.verify_id : res && res.verifyResult });
      };
      if (apiVersion === 2) {
        wxApi.requestFacialVerify({ verifyId: key.verify_id, success: done, fail: done });
        return;
      }
      const api = settings.uploadVideo ? wxApi.startFacialRecognitionVerifyAndUploadVideo : wxApi.startFacialRecognitionVerify;
      api({ userIdKey: key.user_id_key, checkAliveType: settings.checkAliveType, success: done, fail: done });
    });
  }

  function fetchResult(reference) {
    const body = apiVersion === 2 ? { verify_id: reference } : { verify_result: reference };
    return authed('POST', '/v1/face/results', body);
  }

  function pause(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // The result, asked again (at most pollAttempts times, pollIntervalMs apart) while WeChat says
  // the check is not finished: the backend stores nothing until it is.
  async function settledResult(reference) {
    let result = await fetchResult(reference);
    for (let i = 0; i < settings.pollAttempts && messages.notFinished(apiVersion, result.result_code); i += 1) {
      await pause(settings.pollIntervalMs);
      result = await fetchResult(reference);
    }
    return result;
  }

  function deviceMessage(code) {
    return apiVersion === 2 ? messages.verifyRetMessage(code) : messages.callbackMessage(code);
  }

  // What to show for the backend's verdict: the backend's own Chinese message (so the page's
  // headline and the answer agree), else this client's table. WeChat's pass alone is not a pass:
  // a face check not bound to the identity the backend issued the key for is refused, with the
  // backend's reason.
  function verdictMessage(result) {
    if (messages.notFinished(apiVersion, result.result_code)) return '核验结果尚未生成，请稍后查看';
    if (result.message_zh) return result.message_zh;
    if (result.passed === true) return '人脸核身成功';
    if (result.identity_matched === false) return '核验身份与本人信息不一致';
    const wechatPass = result.result_code === (apiVersion === 2 ? 10000 : 0);
    if (wechatPass) return result.message_zh || '本次核身未绑定本服务签发的身份凭证，不能视为通过';
    return deviceMessage(result.result_code);
  }

  // The whole flow. Resolves with the backend's verdict:
  //   { passed, resultCode, message, fromBackend: true, finished, result }
  // (finished: false when WeChat had still not finished after the polling: no verdict yet, look
  // again later with fetchResult or latest),
  // or, when the check ended on the device (cancelled, no camera...), with
  //   { passed: false, resultCode, message, fromBackend: false }.
  //
  // person: { name, idCardNumber } typed by the user (options.bizRef: your reference), or
  // { orderId } alone: the business's order, whose identity and biz_ref the backend holds.
  async function verify(person, options) {
    const byOrder = Boolean(person && person.orderId !== undefined);
    if (byOrder && (person.name !== undefined || person.idCardNumber !== undefined || (options && options.bizRef !== undefined))) {
      throw new TypeError("verify({ orderId }) takes the order alone: its identity and biz_ref are the business's");
    }
    await ensurePrivacy();
    await checkSupport();
    const key = byOrder
      ? await requestKeyForOrder(person.orderId)
      : await requestKey(person.name, person.idCardNumber, options && options.bizRef);
    const check = await startFaceCheck(key);
    if (messages.endedOnDevice(apiVersion, check.errCode) || !check.reference) {
      return { passed: false, resultCode: check.errCode, message: deviceMessage(check.errCode), fromBackend: false };
    }
    const result = await settledResult(check.reference);
    return {
      passed: result.passed === true,
      resultCode: result.result_code,
      message: verdictMessage(result),
      fromBackend: true,
      finished: !messages.notFinished(apiVersion, result.result_code),
      result,
    };
  }

  return {
    verify,
    login,
    ensurePrivacy,
    checkSupport,
    requestKey,
    requestKeyForOrder,
    startFaceCheck,
    fetchResult,
    latest: () => authed('GET', '/v1/face/results/latest'),
    eraseMe: () => authed('DELETE', '/v1/me'),
  };
}

module.exports = { createFaceVerifyClient, FaceVerifyError, compareVersion, MIN_BASE_LIBRARY_V2 };
