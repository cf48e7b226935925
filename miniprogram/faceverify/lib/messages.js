'use strict';
// Short Chinese messages, fit to show a user, for every code the face check can end with.
// Three code spaces share numbers (see the backend's catalogue): keep them apart.

// 1.0: the errCode of wx.startFacialRecognitionVerify(AndUploadVideo), which the backend's
// identify_ret reuses (the seed document's callback table).
const CALLBACK = {
  0: '人脸核身成功',
  10001: '参数错误，请稍后重试',
  10002: '未检测到清晰的人脸，请正对屏幕重试',
  10003: '身份证号与姓名不匹配，请核对后重试',
  10004: '人脸与身份证照片比对不一致，请本人重试',
  10005: '正在核验中，请稍候',
  10006: '该小程序暂未开通人脸核身',
  10007: '服务繁忙，请稍后重试',
  10008: '公安系统繁忙，请稍后重试',
  10009: '未查到该身份证的照片，无法比对',
  10010: '照片质量不满足比对要求，请在光线充足处重试',
  10011: '该身份证暂不支持人脸比对',
  10012: '身份核验失败',
  10013: '核验服务繁忙，请稍后重试',
  10014: '公安系统繁忙，请稍后重试',
  10015: '公安服务暂时不可用，请稍后重试',
  10016: '服务繁忙，请稍后重试',
  10017: '核验凭证无效，请重新开始',
  10018: '未找到核验信息，请重新开始',
  10020: '核验超时，请重试',
  10021: '请勿重复提交',
  10022: '身份信息格式有误，请核对后重试',
  10026: '该身份证不在比对库中，无法核验',
  10027: '未能识别您读出的数字，请在安静环境下重试',
  10028: '未检测到唇动，请按提示读出数字',
  10029: '核验超时，请稍后重试',
  10030: '身份证绑定失败，请稍后重试',
  10031: '小程序配置不完整，暂无法核验',
  10032: '该身份证暂不支持核验',
  10040: '请求数据编码有误',
  10041: '核验凭证无效，请重新开始',
  10042: '操作过于频繁，请稍后再试',
  10045: '系统繁忙，请稍后重试',
  10052: '今日核验次数已达上限，请明天再试',
  10057: '检测到多张人脸，请本人单独完成核验',
  10066: '请勿重复提交',
  10069: '活体检测暂时不可用，请稍后重试',
  90100: '您已取消人脸核身',
  90101: '未授权，无法进行人脸核身',
  90102: '人脸核身组件出错，请重试',
  90103: '视频上传失败，请检查网络后重试',
  90104: '获取配置失败，请检查网络后重试',
  90105: '页面加载失败，请重试',
  90106: '相机启动失败，请检查相机权限',
  90107: '采集超时，请正对屏幕重试',
  90108: '请保持手机稳定后重试',
  90109: '当前设备不支持人脸核身',
  90199: '未知错误，请重试',
};

// 2.0: verify_ret of queryverifyinfo (10000 is a pass) and the errCode of wx.requestFacialVerify.
const VERIFY_RET = {
  10000: '人脸核身成功',
  10001: '参数错误，请稍后重试',
  10002: '未检测到清晰的人脸，请正对屏幕重试',
  10003: '身份证号与姓名不匹配，请核对后重试',
  10004: '人脸与身份证照片比对不一致，请本人重试',
  // Not final: the backend stores nothing and the client asks again (notFinished below).
  10005: '正在核验中，请稍候',
  10006: '该小程序暂未开通人脸核身',
  // WeChat's own failures: final for this key; a new face check may pass.
  10007: '服务繁忙，请重新发起核身',
  10008: '系统繁忙，请重新发起核身',
  10010: '照片质量较低，请在光线充足处重试',
  10012: '比对验证失败，请本人重试',
  10013: '系统繁忙，请重新发起核身',
  10014: '系统繁忙，请重新发起核身',
  10015: '系统繁忙，请重新发起核身',
  10016: '服务繁忙，请重新发起核身',
  10017: '核验凭证无效，请重新开始',
  10018: '未找到核验信息，请重新开始',
  10020: '核验超时，请重试',
  10021: '请勿重复提交，请重新发起核身',
  10026: '该身份证不在比对库中，无法核验',
  10029: '核验超时，请重新发起核身',
  10040: '请求数据编码有误',
  10041: '核验用户无效，请重新开始',
  10042: '操作过于频繁，请稍后再试',
  10045: '系统繁忙，请重新发起核身',
  10052: '核验超时，请重新发起核身',
  10300: '人脸核身尚未完成',
  90001: '当前设备不支持人脸核身',
  90002: '您已取消人脸核身',
  90003: '您已取消人脸核身',
  90004: '您已取消人脸核身',
  90005: '您已取消人脸核身',
  90006: '您已取消人脸核身',
  90007: '网络错误，请检查网络后重试',
  90008: '请在设置中允许使用相机',
  90009: '请在设置中允许使用麦克风',
  90010: '请在设置中允许使用相机和麦克风',
  90011: '人脸采集无效，请重试',
  90012: '上传失败，请检查网络后重试',
  90013: '人脸核身组件初始化失败，请重试',
  90014: '人脸核身组件初始化失败，请重试',
  90015: '获取配置失败，请检查网络后重试',
  90016: '相机预览出错，请重试',
  90017: '识别超时，请正对屏幕重试',
  90018: '系统错误，请重试',
  90019: '上传失败，请检查网络后重试',
  90020: '上传失败，请检查网络后重试',
  90021: '上传失败，请检查网络后重试',
  90022: '页面加载失败，请重试',
  90023: '未能跟踪到人脸，请正对屏幕重试',
  90024: '您已退出人脸核身',
  90104: '获取配置失败，请检查网络后重试',
  90105: '页面加载失败，请重试',
  90106: '相机启动失败，请检查相机权限',
  90107: '检测超时，请正对屏幕重试',
  90109: '当前设备不支持人脸核身',
  90110: '协议加载失败，请重试',
  90199: '系统错误，请重试',
};

// wx.checkIsSupportFacialRecognition: the same numbers, other meanings.
const SUPPORT_CHECK = {
  0: '支持人脸核身',
  10001: '当前设备没有前置摄像头，无法人脸核身',
  10002: '人脸核身组件下载失败，请检查网络后重试',
  10003: '当前设备暂不支持人脸核身',
};

function pick(table, code, fallback) {
  return Object.prototype.hasOwnProperty.call(table, code) ? table[code] : fallback;
}

function callbackMessage(code) {
  return pick(CALLBACK, code, '人脸核身未通过，请重试');
}

function verifyRetMessage(code) {
  return pick(VERIFY_RET, code, '人脸核身未通过，请重试');
}

function supportMessage(code) {
  return pick(SUPPORT_CHECK, code, '当前设备暂不支持人脸核身');
}

// A result code that is not an outcome yet (the backend's result_code for a check WeChat has not
// finished): 1.0 identify_ret 10005; 2.0 verify_ret 10005 (still checking) and 10300 (not done).
// The backend stores nothing for it, so asking again a little later is how to get the outcome.
const NOT_FINAL = { 1: [10005], 2: [10005, 10300] };

function notFinished(apiVersion, code) {
  return (NOT_FINAL[apiVersion] || []).indexOf(code) !== -1;
}

// The front end's own view of a face-check callback code: did the user stop before the check
// could finish (then there is nothing to ask the backend)?
function endedOnDevice(apiVersion, code) {
  if (apiVersion === 1) return code >= 90100 && code <= 90199;
  return (code >= 90000 && code <= 90199);
}

module.exports = { CALLBACK, VERIFY_RET, SUPPORT_CHECK, callbackMessage, verifyRetMessage, supportMessage, endedOnDevice, notFinished };
