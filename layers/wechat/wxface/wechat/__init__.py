"""WeChat's side: the endpoints (``endpoints``), the request and answer models (``models``), the
code catalogue (``catalogue``), the typed errors (``errors``) and the one-attempt transport
(``transport``). Nothing is re-exported here, so importing one of them (settings reads
``endpoints``) does not import the others."""
