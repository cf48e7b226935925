'use strict';
// In your own project: npm install the package, 构建 npm, then require('wechat-face-verify-client').
const { createFaceVerifyClient } = require('../../faceverify/lib/index');

Page({
  data: {
    name: '',
    idCardNumber: '',
    busy: false,
    showPrivacy: false,
    outcome: null, // { passed, message }
    // An order your servers created (POST /v1/face/orders) for this user, passed in the page's
    // query (/pages/verify/verify?orderId=ord_...): they chose whose identity is checked, so the
    // page asks for no name or ID number.
    orderId: '',
  },

  onLoad(query) {
    if (query && query.orderId) this.setData({ orderId: query.orderId });
    const { baseUrl, apiVersion } = getApp().globalData;
    this.client = createFaceVerifyClient({ baseUrl, apiVersion });
    // The privacy guide (base library >= 2.32.3): WeChat asks us to show our own notice when a
    // privacy API (here: collecting name and ID number) is about to be used.
    if (typeof wx.onNeedPrivacyAuthorization === 'function') {
      wx.onNeedPrivacyAuthorization((resolve) => {
        this.resolvePrivacy = resolve;
        this.setData({ showPrivacy: true });
      });
    }
  },

  // The privacy authorisation before the user types a name or ID number, not only at submit.
  onFieldFocus() {
    this.client.ensurePrivacy().catch((err) => this.setData({ outcome: { passed: false, message: err.message } }));
  },

  onName(e) { this.setData({ name: e.detail.value }); },
  onIdCardNumber(e) { this.setData({ idCardNumber: e.detail.value }); },

  openPrivacyContract() { wx.openPrivacyContract({}); },

  onAgreePrivacy() {
    this.setData({ showPrivacy: false });
    if (this.resolvePrivacy) this.resolvePrivacy({ buttonId: 'agree-privacy', event: 'agree' });
  },

  onRefusePrivacy() {
    this.setData({ showPrivacy: false });
    if (this.resolvePrivacy) this.resolvePrivacy({ event: 'disagree' });
  },

  async onStart() {
    if (this.data.busy) return;
    this.setData({ busy: true, outcome: null });
    try {
      const result = this.data.orderId
        ? await this.client.verify({ orderId: this.data.orderId })
        : await this.client.verify({ name: this.data.name, idCardNumber: this.data.idCardNumber });
      // `passed` is the backend's verdict; the page only shows it.
      this.setData({ outcome: { passed: result.passed, message: result.message } });
    } catch (err) {
      this.setData({ outcome: { passed: false, message: err.message || '出错了，请重试' } });
    } finally {
      this.setData({ busy: false });
    }
  },
});
