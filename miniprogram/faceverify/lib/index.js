'use strict';
// wechat-face-verify-client: the mini-program side of the face-verification backend.
// WeChat DevTools' 构建 npm copies this directory (package.json "miniprogram": "lib").
const client = require('./client');
const messages = require('./messages');

module.exports = Object.assign({}, client, { messages });
