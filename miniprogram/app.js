'use strict';
// Where the backend is and which face API it uses (FaceApiVersion of the deployment).
App({
  globalData: {
    baseUrl: 'https://face.example.com', // your ICP-filed API domain (the request domain in the console)
    apiVersion: 2,
  },
});
