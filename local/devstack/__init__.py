"""Run the whole product on this machine: the functions from template.yaml behind a local HTTP
API, a local AWS endpoint (moto) that also answers Lambda Invoke, and the WeChat simulator."""
