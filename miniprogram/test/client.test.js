'use strict';
// node --test miniprogram/test/  (Node's built-in runner: no npm install)
const test = require('node:test');
const assert = require('node:assert/strict');

const { createFaceVerifyClient, compareVersion, FaceVerifyError } = require('../faceverify/lib/client');
const messages = require('../faceverify/lib/messages');

const PERSON = { name: '张三', idCardNumber: '11010519491231002X' };

// A fake `wx`: records calls; the backend is a function of (method, path, body, header).
function fakeWx(options) {
  const calls = [];
  const o = Object.assign(
    {
      baseLibrary: '3.9.0',
      loginCodes: ['code-1', 'code-2', 'code-3'],
      privacy: 'agree',
      support: null, // 1.0: errCode of checkIsSupportFacialRecognition's fail, or null
      faceCheck: { errCode: 0 },
      backend: () => ({ statusCode: 500, data: {} }),
      network: 'up',
    },
    options,
  );
  const wx = {
    calls,
    login({ success }) {
      calls.push(['login']);
      success({ code: o.loginCodes.shift() });
    },
    request({ url, method, data, header, success, fail }) {
      calls.push(['request', method, url.replace('https://api.test', ''), data, header]);
      if (o.network === 'down') return fail({ errMsg: 'request:fail timeout' });
      const answer = o.backend(method, url.replace('https://api.test', ''), data, header);
      return success(answer);
    },
    requirePrivacyAuthorize({ success, fail }) {
      calls.push(['privacy']);
      return o.privacy === 'agree' ? success({}) : fail({ errMsg: 'requirePrivacyAuthorize:fail privacy permission is not authorized' });
    },
    getAppBaseInfo() {
      return { SDKVersion: o.baseLibrary };
    },
    checkIsSupportFacialRecognition({ checkAliveType, success, fail }) {
      calls.push(['support', checkAliveType]);
      return o.support === null ? success({ errCode: 0 }) : fail({ errCode: o.support, errMsg: 'not supported' });
    },
    requestFacialVerify({ verifyId, success, fail }) {
      calls.push(['requestFacialVerify', verifyId]);
      return o.faceCheck.errCode === 0 ? success({ errCode: 0 }) : fail(o.faceCheck);
    },
    startFacialRecognitionVerify({ userIdKey, checkAliveType, success, fail }) {
      calls.push(['startFacialRecognitionVerify', userIdKey, checkAliveType]);
      return o.faceCheck.errCode === 0 ? success(Object.assign({ errCode: 0 }, o.faceCheck)) : fail(o.faceCheck);
    },
  };
  return wx;
}

function backend(v, overrides) {
  const o = Object.assign({ result: { passed: true, result_code: v === 2 ? 10000 : 0, identity_matched: true } }, overrides);
  let sessions = 0;
  return (method, path, body, header) => {
    if (path === '/v1/session') {
      sessions += 1;
      return { statusCode: 200, data: { token: 'token-' + sessions + '-' + body.code, expires_in: 3600 } };
    }
    if (o.expiredToken && header.Authorization === 'Bearer ' + o.expiredToken) {
      return { statusCode: 401, data: { error: { code: 'session_expired', message_zh: '会话已过期，请重新登录' } } };
    }
    if (path === '/v1/face/keys') {
      return { statusCode: 200, data: v === 2 ? { api_version: 2, verify_id: 'vid-1', expires_in: 3600 } : { api_version: 1, user_id_key: 'uik-1', expires_in: 3600 } };
    }
    if (path === '/v1/face/results') return { statusCode: 200, data: Object.assign({ api_version: v }, o.result) };
    return { statusCode: 404, data: { error: { code: 'not_found' } } };
  };
}

function client(wx, apiVersion) {
  return createFaceVerifyClient({ baseUrl: 'https://api.test/', apiVersion, wx });
}

const requests = (wx, path) => wx.calls.filter((c) => c[0] === 'request' && c[2] === path);

test('2.0 success: privacy, login, key, face check, and the backend decides', async () => {
  const wx = fakeWx({ backend: backend(2) });
  const result = await client(wx, 2).verify(PERSON);
  assert.equal(result.passed, true);
  assert.equal(result.fromBackend, true);
  assert.equal(result.resultCode, 10000);
  assert.deepEqual(wx.calls.map((c) => c[0] === 'request' ? c[2] : c[0]),
    ['privacy', 'login', '/v1/session', '/v1/face/keys', 'requestFacialVerify', '/v1/face/results']);
  const key = requests(wx, '/v1/face/keys')[0];
  assert.deepEqual(key[3], { name: '张三', id_card_number: '11010519491231002X' });
  assert.match(key[4]['Idempotency-Key'], /^[0-9a-f]{32}$/);
  assert.equal(key[4].Authorization, 'Bearer token-1-code-1');
  assert.deepEqual(requests(wx, '/v1/face/results')[0][3], { verify_id: 'vid-1' });
});

test('1.0 success: the support check, userIdKey and checkAliveType, then verify_result', async () => {
  const wx = fakeWx({ backend: backend(1), faceCheck: { errCode: 0, verifyResult: 'vr-1' } });
  const result = await client(wx, 1).verify(PERSON);
  assert.equal(result.passed, true);
  assert.deepEqual(wx.calls.find((c) => c[0] === 'support'), ['support', 2]);
  assert.deepEqual(wx.calls.find((c) => c[0] === 'startFacialRecognitionVerify'), ['startFacialRecognitionVerify', 'uik-1', 2]);
  assert.deepEqual(requests(wx, '/v1/face/results')[0][3], { verify_result: 'vr-1' });
});

test('the user cancels (90100): no result lookup, a message to show', async () => {
  const wx = fakeWx({ backend: backend(1), faceCheck: { errCode: 90100, errMsg: 'cancel' } });
  const result = await client(wx, 1).verify(PERSON);
  assert.deepEqual(result, { passed: false, resultCode: 90100, message: '您已取消人脸核身', fromBackend: false });
  assert.equal(requests(wx, '/v1/face/results').length, 0);
});

test('device unsupported: 90109 from the face check, 10001 from the support check', async () => {
  const wx = fakeWx({ backend: backend(1), faceCheck: { errCode: 90109 } });
  const result = await client(wx, 1).verify(PERSON);
  assert.equal(result.passed, false);
  assert.equal(result.message, '当前设备不支持人脸核身');

  const noCamera = fakeWx({ backend: backend(1), support: 10001 });
  await assert.rejects(client(noCamera, 1).verify(PERSON), (err) => {
    assert.ok(err instanceof FaceVerifyError);
    assert.equal(err.kind, 'unsupported');
    assert.equal(err.message, '当前设备没有前置摄像头，无法人脸核身'); // not 10001's "参数错误"
    return true;
  });
  assert.equal(requests(noCamera, '/v1/face/keys').length, 0); // nothing sent before the check
});

test('2.0 needs base library 3.8.12', async () => {
  const wx = fakeWx({ backend: backend(2), baseLibrary: '3.8.11' });
  await assert.rejects(client(wx, 2).verify(PERSON), (err) => err.kind === 'unsupported' && /升级微信/.test(err.message));
  assert.equal(wx.calls.filter((c) => c[0] === 'request').length, 0);
  assert.equal(compareVersion('3.8.12', '3.8.9'), 1);
  assert.equal(compareVersion('3.10.0', '3.8.12'), 1);
  assert.equal(compareVersion('3.8.12', '3.8.12'), 0);
});

test('a failed comparison (10004): the backend says no, with a message to show', async () => {
  const wx = fakeWx({
    backend: backend(1, { result: { passed: false, result_code: 10004, identity_matched: true } }),
    faceCheck: { errCode: 10004, verifyResult: 'vr-2' },
  });
  const result = await client(wx, 1).verify(PERSON);
  assert.equal(result.passed, false);
  assert.equal(result.fromBackend, true);
  assert.equal(result.message, '人脸与身份证照片比对不一致，请本人重试');
  assert.deepEqual(requests(wx, '/v1/face/results')[0][3], { verify_result: 'vr-2' });
});

test('a check WeChat has not finished (2.0 10300) is asked again until it is, a bounded number of times', async () => {
  const answers = [10300, 10005, 10000];
  const wx = fakeWx({
    backend: (method, path, body, header) => (path === '/v1/face/results'
      ? (() => {
        const code = answers.shift();
        return { statusCode: 200, data: { api_version: 2, passed: code === 10000, result_code: code, identity_matched: true } };
      })()
      : backend(2)(method, path, body, header)),
  });
  const result = await createFaceVerifyClient({ baseUrl: 'https://api.test', apiVersion: 2, wx, pollIntervalMs: 1 }).verify(PERSON);
  assert.equal(result.passed, true);
  assert.equal(result.finished, true);
  assert.equal(requests(wx, '/v1/face/results').length, 3);
});

test('still not finished after the polling: no verdict yet, said so, and no endless loop', async () => {
  for (const [v, code] of [[2, 10300], [1, 10005]]) {
    const wx = fakeWx({
      backend: backend(v, { result: { passed: false, result_code: code, identity_matched: true } }),
      faceCheck: { errCode: 0, verifyResult: 'vr-9' },
    });
    const result = await createFaceVerifyClient({ baseUrl: 'https://api.test', apiVersion: v, wx, pollAttempts: 2, pollIntervalMs: 1 }).verify(PERSON);
    assert.equal(result.passed, false);
    assert.equal(result.finished, false);
    assert.equal(result.message, '核验结果尚未生成，请稍后查看');
    assert.equal(requests(wx, '/v1/face/results').length, 3); // the first ask and two more
  }
});

test('a final failure is not asked again', async () => {
  const wx = fakeWx({ backend: backend(2, { result: { passed: false, result_code: 10008, identity_matched: true } }) });
  const result = await createFaceVerifyClient({ baseUrl: 'https://api.test', apiVersion: 2, wx, pollIntervalMs: 1 }).verify(PERSON);
  assert.equal(result.finished, true);
  assert.equal(result.message, '系统繁忙，请重新发起核身');
  assert.equal(requests(wx, '/v1/face/results').length, 1);
});

test('the front end never decides: a device success is not a pass without the backend', async () => {
  const wx = fakeWx({ backend: backend(2, { result: { passed: false, result_code: 10000, identity_matched: false } }) });
  const result = await client(wx, 2).verify(PERSON);
  assert.equal(result.passed, false);
  assert.equal(result.message, '核验身份与本人信息不一致');
});

test('WeChat passed a face check not bound to the key issued: not a pass, the backend says why', async () => {
  const reason = '人脸核身通过，但未绑定本服务签发凭证时的身份，不能视为核身通过';
  const wx = fakeWx({
    backend: backend(1, { result: { passed: false, result_code: 0, identity_matched: null, message_zh: reason } }),
    faceCheck: { errCode: 0, verifyResult: 'vr-3' },
  });
  const result = await client(wx, 1).verify(PERSON);
  assert.equal(result.passed, false);
  assert.equal(result.fromBackend, true);
  assert.equal(result.message, reason);
});

test('the business reference goes with the key request, and only when given', async () => {
  const wx = fakeWx({ backend: backend(2) });
  await client(wx, 2).verify(PERSON, { bizRef: 'order:42' });
  await client(wx, 2).verify(PERSON);
  const bodies = requests(wx, '/v1/face/keys').map((r) => r[3]);
  assert.equal(bodies[0].biz_ref, 'order:42');
  assert.equal('biz_ref' in bodies[1], false);
});

test('verify({ orderId }) asks for the key by the order alone and answers the backend verdict', async () => {
  const wx = fakeWx({
    backend: backend(2, { result: { passed: true, result_code: 10000, identity_matched: true, order_id: 'ord_0123456789abcdef0123456789abcdef', identity_source: 'business' } }),
  });
  const result = await client(wx, 2).verify({ orderId: 'ord_0123456789abcdef0123456789abcdef' });
  assert.equal(result.passed, true);
  assert.equal(result.result.identity_source, 'business');
  const [key] = requests(wx, '/v1/face/keys');
  assert.deepEqual(key[3], { order_id: 'ord_0123456789abcdef0123456789abcdef' });
  assert.ok(key[4]['Idempotency-Key']);
});

test('verify({ orderId }) with an identity or a bizRef is refused before anything is sent', async () => {
  const wx = fakeWx({ backend: backend(2) });
  const c = client(wx, 2);
  await assert.rejects(c.verify({ orderId: 'ord_0123456789abcdef0123456789abcdef', name: '张三' }), TypeError);
  await assert.rejects(c.verify({ orderId: 'ord_0123456789abcdef0123456789abcdef' }, { bizRef: 'x' }), TypeError);
  assert.equal(wx.calls.length, 0);
});

test('an order the backend refuses is a rejected error with its Chinese message', async () => {
  const refusing = (method, path, body, header) => {
    if (path === '/v1/face/keys') {
      return { statusCode: 409, data: { error: { code: 'order_cancelled', message_zh: '该核身订单已被业务方取消，不能再申请核身凭证' } } };
    }
    return backend(2)(method, path, body, header);
  };
  const wx = fakeWx({ backend: refusing });
  await assert.rejects(client(wx, 2).verify({ orderId: 'ord_0123456789abcdef0123456789abcdef' }), (err) => {
    assert.ok(err instanceof FaceVerifyError);
    assert.equal(err.message, '该核身订单已被业务方取消，不能再申请核身凭证');
    return true;
  });
  assert.equal(wx.calls.filter((c) => c[0] === 'requestFacialVerify').length, 0);
});

test("the verdict's message is the backend's own message_zh when it sends one", async () => {
  const wx = fakeWx({
    backend: backend(2, { result: { passed: false, result_code: 10004, identity_matched: true, message_zh: '人脸比对不一致（后端的话）' } }),
  });
  const result = await client(wx, 2).verify(PERSON);
  assert.equal(result.message, '人脸比对不一致（后端的话）');
  assert.equal(result.message, result.result.message_zh); // the headline and the answer agree
});

test('an expired session: 401, log in again, retry once', async () => {
  const wx = fakeWx({ backend: backend(2, { expiredToken: 'token-1-code-1' }) });
  const result = await client(wx, 2).verify(PERSON);
  assert.equal(result.passed, true);
  assert.equal(requests(wx, '/v1/session').length, 2);
  const keys = requests(wx, '/v1/face/keys');
  assert.equal(keys.length, 2);
  assert.equal(keys[1][4].Authorization, 'Bearer token-2-code-2');
});

test('a 401 after logging in again is an error, not a loop', async () => {
  let sessions = 0;
  const wx = fakeWx({
    backend: (method, path) => {
      if (path === '/v1/session') { sessions += 1; return { statusCode: 200, data: { token: 't' + sessions } }; }
      return { statusCode: 401, data: { error: { code: 'unauthorized' } } };
    },
  });
  await assert.rejects(client(wx, 2).verify(PERSON), (err) => err.kind === 'session');
  assert.equal(sessions, 2);
});

test('network failure: a message to show, no retry storm', async () => {
  const wx = fakeWx({ network: 'down' });
  await assert.rejects(client(wx, 2).verify(PERSON), (err) => {
    assert.equal(err.kind, 'network');
    assert.equal(err.message, '网络不可用，请检查网络后重试');
    return true;
  });
  assert.equal(wx.calls.filter((c) => c[0] === 'request').length, 1);
});

test('a key request lost on the network is sent once more with the same Idempotency-Key', async () => {
  const ok = backend(2);
  let lost = 1;
  const wx = fakeWx({ backend: ok });
  const request = wx.request;
  wx.request = (options) => {
    if (options.url.endsWith('/v1/face/keys') && lost > 0) {
      lost -= 1;
      wx.calls.push(['request', options.method, '/v1/face/keys', options.data, options.header]);
      return options.fail({ errMsg: 'request:fail timeout' });
    }
    return request(options);
  };
  const result = await client(wx, 2).verify(PERSON);
  assert.equal(result.passed, true);
  const keys = requests(wx, '/v1/face/keys');
  assert.equal(keys.length, 2);
  assert.equal(keys[0][4]['Idempotency-Key'], keys[1][4]['Idempotency-Key']);
});

test('the quota guard\'s 429 shows the backend\'s message', async () => {
  const wx = fakeWx({
    backend: (method, path) => path === '/v1/session'
      ? { statusCode: 200, data: { token: 't' } }
      : { statusCode: 429, data: { error: { code: 'wechat_quota_guard', message_zh: '今日微信人脸核身额度即将用尽，请明天再试' } } },
  });
  await assert.rejects(client(wx, 2).verify(PERSON), (err) => err.kind === 'rejected' && err.message === '今日微信人脸核身额度即将用尽，请明天再试');
});

test('privacy refused: nothing is collected or sent', async () => {
  const wx = fakeWx({ backend: backend(2), privacy: 'refuse' });
  await assert.rejects(client(wx, 2).verify(PERSON), (err) => err.kind === 'privacy');
  assert.equal(wx.calls.filter((c) => c[0] === 'request').length, 0);
});

test('backend errors show the backend\'s Chinese message', async () => {
  const wx = fakeWx({
    backend: (method, path) => path === '/v1/session'
      ? { statusCode: 200, data: { token: 't' } }
      : { statusCode: 400, data: { error: { code: 'invalid_id_card_number', message_zh: '身份证号校验位错误' } } },
  });
  await assert.rejects(client(wx, 2).verify(PERSON), (err) => err.kind === 'rejected' && err.message === '身份证号校验位错误');
});

test('every callback errCode of the seed document has a message', () => {
  const seed = [0, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 10008, 10009, 10010, 10011, 10012, 10013,
    10014, 10015, 10016, 10017, 10018, 10020, 10021, 10022, 10026, 10027, 10028, 10029, 10030, 10031, 10032,
    10040, 10041, 10042, 10045, 10052, 10057, 10066, 10069, 90100, 90101, 90102, 90103, 90104, 90105, 90106,
    90107, 90108, 90109, 90199];
  for (const code of seed) assert.ok(messages.CALLBACK[code], String(code));
  // 2.0's verify_ret table in WeChat's order (from 10005 on, as independent SDKs transcribe it).
  const verifyRet = [10000, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 10008, 10010, 10012, 10013, 10014,
    10015, 10016, 10017, 10018, 10020, 10021, 10026, 10029, 10040, 10041, 10042, 10045, 10052, 10300];
  for (const code of verifyRet) assert.ok(messages.VERIFY_RET[code], String(code));
  assert.deepEqual([10005, 10300, 10004, 10021].map((c) => messages.notFinished(2, c)), [true, true, false, false]);
  assert.deepEqual([10005, 10300].map((c) => messages.notFinished(1, c)), [true, false]);
  assert.notEqual(messages.supportMessage(10001), messages.callbackMessage(10001));
  assert.equal(messages.endedOnDevice(1, 90100), true);
  assert.equal(messages.endedOnDevice(1, 10004), false);
  assert.equal(messages.endedOnDevice(2, 90002), true);
});

test('wx.canIUse decides where WeChat has it: an old base library without requestFacialVerify is told to upgrade', async () => {
  const wx = fakeWx({ backend: backend(2) });
  wx.canIUse = (api) => api !== 'requestFacialVerify';
  await assert.rejects(client(wx, 2).verify(PERSON), (err) => err.kind === 'unsupported');
  assert.equal(wx.calls.filter((c) => c[0] === 'request').length, 0); // nothing sent
});

test('wx.canIUse false for the privacy API (base library before 2.32.3): no privacy call, the flow goes on', async () => {
  const wx = fakeWx({ backend: backend(2) });
  wx.canIUse = (api) => api !== 'requirePrivacyAuthorize';
  const result = await client(wx, 2).verify(PERSON);
  assert.equal(result.passed, true);
  assert.equal(wx.calls.filter((c) => c[0] === 'privacy').length, 0);
});

test('the privacy authorisation can be asked before typing; verify asks again, which WeChat answers at once once agreed', async () => {
  const wx = fakeWx({ backend: backend(2) });
  const c = client(wx, 2);
  await c.ensurePrivacy(); // the page's focus handler
  assert.equal(wx.calls.length, 1);
  await c.verify(PERSON);
  assert.deepEqual(wx.calls.filter((x) => x[0] === 'privacy').length, 2); // WeChat answers at once once agreed
});

// uni-app (and Taro) on the WeChat target: their object forwards WeChat's own APIs (the face
// check included) and has its own login and request with the same callbacks.
function uniStandIn(wx) {
  const own = {
    login(options) { return wx.login(options); },
    request(options) {
      // uni.request: the same option names and { statusCode, data } answer as wx.request.
      return wx.request(Object.assign({}, options, { header: Object.assign({}, options.header) }));
    },
  };
  return new Proxy(own, { get: (target, name) => (name in target ? target[name] : wx[name]) });
}

test('uni-app: the client runs on the uni object as it is (createFaceVerifyClient({ wx: uni }))', async () => {
  const wx = fakeWx({ backend: backend(2) });
  const uni = uniStandIn(wx);
  const result = await createFaceVerifyClient({ wx: uni, baseUrl: 'https://api.test', apiVersion: 2 }).verify(PERSON);
  assert.equal(result.passed, true);
  assert.deepEqual(wx.calls.map((c) => c[0] === 'request' ? c[2] : c[0]),
    ['privacy', 'login', '/v1/session', '/v1/face/keys', 'requestFacialVerify', '/v1/face/results']);
});

test('the package entry point exports the client and the messages', () => {
  const pkg = require('../faceverify/lib/index');
  assert.equal(typeof pkg.createFaceVerifyClient, 'function');
  assert.equal(typeof pkg.FaceVerifyError, 'function');
  assert.equal(pkg.messages.verifyRetMessage(10004), messages.verifyRetMessage(10004));
});
