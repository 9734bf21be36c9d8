/** nanoStream ingest hosts for tests: all on loopback, one address per kind and region. */
export const LOOPBACK_INGEST_ENV = {
  NANOSTREAM_RTMP_URL: 'rtmp://127.0.0.2:1935/live',
  NANOSTREAM_SRT_HOST: '127.0.0.3',
  NANOSTREAM_SRT_HOST_EU: '127.0.0.4',
  NANOSTREAM_SRT_HOST_US: '127.0.0.5',
  NANOSTREAM_SRT_HOST_AS: '127.0.0.6',
  NANOSTREAM_SRT_HOST_SA: '127.0.0.7',
  NANOSTREAM_WHIP_URL: 'http://127.0.0.8:8080/p/webrtc',
};
