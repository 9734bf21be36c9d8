/** `output_type.rtmp.service.data`: both forms the device may hold, and what we send back. */
import { describe, expect, it } from 'vitest';
import { encodeServiceData, parseServiceData } from '../../drivers/videon/service-data.js';
import { joinRtmpUrl, splitRtmpUrl } from '../../drivers/videon/wire.js';

describe('parseServiceData()', () => {
  it.each([
    ["{'url': 'rtmp://a.rtmp.youtube.com/live2/KEY'}", { url: 'rtmp://a.rtmp.youtube.com/live2/KEY' }],
    ['{"url": "rtmp://h/app/k"}', { url: 'rtmp://h/app/k' }],
    ["{'url': 'it\\'s', \"n\": 3, 'on': True, 'x': None}", { url: "it's", n: 3, on: true, x: null }],
    ["{ 'selected_channel_arn' : 'arn:aws:ivs:x' , }", undefined], // trailing comma: not str(dict)
    ['', {}],
    ['{}', {}],
  ])('%s', (text, expected) => {
    expect(parseServiceData(text)).toEqual(expected);
  });

  it('refuses what is neither form', () => {
    for (const junk of [
      'url=rtmp://h',
      "{'url': 'unterminated}",
      '["url"]',
      "{'url': 'a'} extra",
      "{'a': {'b': 1}}",
    ])
      expect(parseServiceData(junk)).toBeUndefined();
  });

  it('always encodes proper JSON', () => {
    expect(encodeServiceData({ url: "rtmp://h/app/it's" })).toBe('{"url":"rtmp://h/app/it\'s"}');
  });
});

describe('RTMP url/key', () => {
  it('joins with exactly one slash and splits at the last one', () => {
    expect(joinRtmpUrl('rtmp://h/live/', '/KEY')).toBe('rtmp://h/live/KEY');
    expect(splitRtmpUrl('rtmp://h:1935/live/app/KEY')).toEqual({
      url: 'rtmp://h:1935/live/app',
      streamKey: 'KEY',
    });
    expect(splitRtmpUrl('rtmp://h')).toEqual({ url: 'rtmp://h', streamKey: '' });
  });
});
