'use strict';
// The phone, in a browser: the mini-program's own client module (miniprogram/faceverify), run
// against a small stand-in for the `wx` object. wx.login and the face check are played by the
// simulator's control routes; wx.request goes to the backend through the simulator's /api
// pass-through (same origin: the product itself needs no CORS, as wx.request is not subject to it).
(async function phone() {
  const $ = (id) => document.getElementById(id);
  const config = await (await fetch('/phone/config')).json();
  const apiVersion = config.apiVersion;
  $('version').textContent = `人脸核身 ${apiVersion}.0`;

  // A few lines of CommonJS, so the page runs the client files exactly as a mini-program ships
  // them (no build step, nothing downloaded).
  const sources = {};
  for (const name of config.modules) {
    sources[`./${name}`] = await (await fetch(`/miniprogram/faceverify/${name}.js`)).text();
  }
  const loaded = {};
  function requireModule(name) {
    const id = name.replace(/\.js$/, '');
    if (loaded[id]) return loaded[id].exports;
    if (!(id in sources)) throw new Error(`module not served: ${name}`);
    const module = { exports: {} };
    loaded[id] = module;
    new Function('module', 'exports', 'require', sources[id])(module, module.exports, requireModule); // eslint-disable-line no-new-func
    return module.exports;
  }
  const { createFaceVerifyClient } = requireModule('./client');
  const messages = requireModule('./messages');

  // --- the wx stand-in --------------------------------------------------------------------------
  let openid = null; // the user wx.login was last called for
  let privacyAgreed = false;

  function postJson(path, body) {
    return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then((r) => r.json().then((data) => ({ status: r.status, data })));
  }

  function sheet(id, choices) {
    // Shows a bottom sheet; resolves with the value of the button pressed.
    return new Promise((resolve) => {
      const root = $(id);
      root.hidden = false;
      const handlers = [];
      for (const [buttonId, value] of Object.entries(choices)) {
        const button = $(buttonId);
        const handler = () => {
          root.hidden = true;
          handlers.forEach(([b, h]) => b.removeEventListener('click', h));
          resolve(typeof value === 'function' ? value() : value);
        };
        handlers.push([button, handler]);
        button.addEventListener('click', handler);
      }
    });
  }

  function logRequest(method, url, status) {
    const item = document.createElement('li');
    item.textContent = `${method} ${url.replace(/^.*\/api/, '')} → ${status}`;
    $('requests').appendChild(item);
  }

  function onAnswer(method, url, status, data) {
    if (method === 'POST' && url.endsWith('/v1/face/keys') && status === 200) {
      const key = apiVersion === 2 ? data.verify_id : data.user_id_key;
      $('key').textContent = `${apiVersion === 2 ? 'verify_id' : 'user_id_key'}: ${key}（${data.expires_in} 秒内有效）`;
    }
  }

  // WeChat ends a face check with its own result codes: the sheet offers the backend-side ones
  // (the device-side ones end the check before the backend is asked).
  const codes = apiVersion === 2 ? messages.VERIFY_RET : messages.CALLBACK;
  const passCode = apiVersion === 2 ? 10000 : 0;
  const cancelCode = apiVersion === 2 ? 90002 : 90100;
  for (const [code, text] of Object.entries(codes)) {
    if (Number(code) >= 90000 || Number(code) === passCode) continue;
    const option = document.createElement('option');
    option.value = code;
    option.textContent = `${code} ${text}`;
    $('face-code').appendChild(option);
  }

  async function faceCheck(control) {
    const code = await sheet('face-sheet', {
      'face-pass': passCode,
      'face-fail': 10004,
      'face-code-go': () => Number($('face-code').value),
      'face-cancel': cancelCode,
    });
    if (code === cancelCode) return { errCode: code, errMsg: 'cancelled by the user' };
    const answer = await postJson('/sim/verify', Object.assign({ openid, result_code: code }, control));
    if (answer.status !== 200) return { errCode: 90018, errMsg: answer.data.error };
    return { errCode: apiVersion === 2 ? 0 : code, verifyResult: answer.data.verify_result };
  }

  const wx = {
    login({ success, fail }) {
      openid = $('openid').value.trim() || 'demo-user';
      // Section 1 shows every login, also the ones the client does by itself (first key, after a 401).
      $('session').textContent = '登录中…';
      postJson('/sim/login', { openid }).then(
        (r) => {
          if (r.status === 200) {
            $('session').textContent = `已登录：${openid}`;
            success({ code: r.data.code });
          } else {
            $('session').textContent = `登录失败：${r.data.error}`;
            fail({ errMsg: `login:fail ${r.data.error}` });
          }
        },
        (e) => fail({ errMsg: `login:fail ${e.message}` }),
      );
    },
    request({ url, method, data, header, success, fail }) {
      const body = data === undefined ? undefined : JSON.stringify(data);
      fetch(url, { method: method || 'GET', headers: header, body })
        .then(async (r) => {
          const text = await r.text();
          let parsed = text;
          try { parsed = JSON.parse(text); } catch (e) { /* not JSON: handed over as text, as wx.request does */ }
          logRequest(method, url, r.status);
          onAnswer(method, url, r.status, parsed);
          success({ statusCode: r.status, data: parsed, header: {} });
        })
        .catch((e) => fail({ errMsg: `request:fail ${e.message}` }));
    },
    canIUse(schema) {
      const api = String(schema).split('.')[0];
      return typeof wx[api] === 'function';
    },
    getAppBaseInfo() { return { SDKVersion: config.baseLibrary }; },
    requirePrivacyAuthorize({ success, fail }) {
      if (privacyAgreed) { success({ errMsg: 'requirePrivacyAuthorize:ok' }); return; }
      sheet('privacy-sheet', { 'privacy-agree': true, 'privacy-refuse': false }).then((agreed) => {
        privacyAgreed = agreed;
        if (agreed) success({ errMsg: 'requirePrivacyAuthorize:ok' });
        else fail({ errMsg: 'requirePrivacyAuthorize:fail privacy permission is not authorized', errno: 104 });
      });
    },
    checkIsSupportFacialRecognition({ success }) { success({ errCode: 0, errMsg: 'checkIsSupportFacialRecognition:ok' }); },
    requestFacialVerify({ verifyId, success, fail }) {
      faceCheck({ verify_id: verifyId }).then((res) => (res.errCode === 0 ? success(res) : fail(res)));
    },
    startFacialRecognitionVerify({ userIdKey, success, fail }) {
      faceCheck({ user_id_key: userIdKey }).then((res) => (res.errCode === 0 ? success(res) : fail(res)));
    },
  };
  wx.startFacialRecognitionVerifyAndUploadVideo = wx.startFacialRecognitionVerify;

  // --- the page ---------------------------------------------------------------------------------
  const client = createFaceVerifyClient({ wx, baseUrl: `${location.origin}/api`, apiVersion });

  // The simulator alone (python -m wechat_sim without --api-url): say so at once, not after a click.
  if (!config.backend) {
    $('no-backend').hidden = false;
    for (const id of ['login', 'start', 'create-order', 'start-order']) $(id).disabled = true;
  }

  $('login').addEventListener('click', async () => {
    try {
      await client.login(); // wx.login above shows the outcome in section 1
    } catch (err) {
      $('session').textContent = err.message;
    }
  });

  // The privacy authorisation comes before the user types a name or ID number.
  for (const id of ['name', 'id-card-number']) {
    $(id).addEventListener('focus', async (event) => {
      if (privacyAgreed) return;
      event.target.blur();
      try {
        await client.ensurePrivacy();
        $('privacy-status').textContent = '已同意隐私保护指引';
        event.target.focus();
      } catch (err) {
        $('privacy-status').textContent = err.message;
      }
    });
  }

  async function run(button, subject) {
    const outcome = $('outcome');
    button.disabled = true;
    outcome.className = 'outcome';
    outcome.textContent = '核验中…';
    $('answer').textContent = '';
    $('key').textContent = '—';
    try {
      const result = await client.verify(subject);
      outcome.className = `outcome ${result.passed ? 'passed' : 'failed'}`;
      outcome.textContent = `${result.passed ? '✓' : '✗'} ${result.message}`;
      $('answer').textContent = result.fromBackend ? JSON.stringify(result.result, null, 2) : `微信返回 errCode ${result.resultCode}（未询问后端）`;
    } catch (err) {
      outcome.className = 'outcome failed';
      outcome.textContent = `✗ ${err.message}`;
      $('answer').textContent = err.details ? JSON.stringify(err.details, null, 2) : '';
    } finally {
      button.disabled = false;
    }
  }

  $('start').addEventListener('click', () => run($('start'), { name: $('name').value.trim(), idCardNumber: $('id-card-number').value.trim() }));

  // The order flow: the business's servers create the order (here the simulator, signed as the
  // local business identity); the mini-program passes only its id.
  let orderId = null;
  if (!config.businessOrders) {
    $('create-order').disabled = true;
    $('order').textContent = '业务方订单仅在 make run 启动的本地环境中可用 (only with make run)';
  }
  $('create-order').addEventListener('click', async () => {
    const body = {
      openid: $('openid').value.trim() || 'demo-user',
      name: $('order-name').value.trim(),
      id_card_number: $('order-id-card-number').value.trim(),
    };
    const bizRef = $('order-biz-ref').value.trim();
    if (bizRef) body.biz_ref = bizRef;
    const answer = await postJson('/sim/business/orders', body);
    logRequest('POST', '/v1/face/orders (业务方)', answer.status);
    if (answer.status === 201) {
      orderId = answer.data.order_id;
      $('order').textContent = `order_id: ${orderId}（${answer.data.expires_in} 秒内可申请核身凭证；用户：${body.openid}）`;
      $('start-order').disabled = false;
    } else {
      orderId = null;
      $('start-order').disabled = true;
      $('order').textContent = (answer.data.error && answer.data.error.message_zh) || answer.data.error || `HTTP ${answer.status}`;
    }
  });
  $('start-order').addEventListener('click', () => run($('start-order'), { orderId }));
  document.body.dataset.ready = 'true';
}());
