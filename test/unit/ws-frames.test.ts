// The frame follower a proxied WebSocket is closed with at a drain: frame ends
// found whatever the chunking, across the HTTP head and split headers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeFrame, FrameBoundary } from '../../src/proxy/ws-frames.js';

function frame(payloadLength: number, masked: boolean): Buffer {
  const len7 = payloadLength < 126 ? payloadLength : payloadLength < 65536 ? 126 : 127;
  const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const head = Buffer.alloc(2 + ext + (masked ? 4 : 0));
  head[0] = 0x82;
  head[1] = (masked ? 0x80 : 0) | len7;
  if (len7 === 126) head.writeUInt16BE(payloadLength, 2);
  if (len7 === 127) head.writeBigUInt64BE(BigInt(payloadLength), 2);
  return Buffer.concat([head, Buffer.alloc(payloadLength, 0x7f)]);
}

describe('FrameBoundary', () => {
  it('finds every frame end, in chunks of any size, after the 101 head', () => {
    const head = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    const frames = [frame(0, false), frame(5, false), frame(300, false), frame(70_000, false), frame(125, false)];
    const stream = Buffer.concat([head, ...frames]);
    const ends = new Set<number>([head.length]); // right after the head: before the first frame
    let at = head.length;
    for (const f of frames) ends.add((at += f.length));
    for (const size of [1, 2, 3, 7, 64, 1000, stream.length]) {
      const b = new FrameBoundary(true);
      for (let pos = 0; pos < stream.length; pos += size) {
        const chunk = stream.subarray(pos, pos + size);
        // Byte by byte inside each chunk, so every position is checked.
        for (let i = 0; i < chunk.length; i++) {
          b.feed(chunk.subarray(i, i + 1));
          assert.equal(b.atBoundary, ends.has(pos + i + 1), `chunk size ${size}, byte ${pos + i + 1}`);
        }
      }
      assert.equal(b.status, 101);
    }
  });

  it('untilBoundary takes only the rest of the frame under way; masked frames too', () => {
    const b = new FrameBoundary(false);
    const a = frame(10, true);
    const next = frame(3, true);
    b.feed(a.subarray(0, 4)); // inside the header (2 + 4 mask bytes)
    assert.equal(b.atBoundary, false);
    const rest = Buffer.concat([a.subarray(4), next]);
    assert.equal(b.untilBoundary(rest), a.length - 4);
    assert.equal(b.atBoundary, true);
    assert.equal(b.untilBoundary(next), 0);
  });

  it('a refused upgrade has its status, and no frames', () => {
    const b = new FrameBoundary(true);
    b.feed(Buffer.from('HTTP/1.1 4'));
    b.feed(Buffer.from('01 Unauthorized\r\nContent-Length: 0\r\n\r\n'));
    assert.equal(b.status, 401);
  });

  it('closeFrame: the code and reason, masked or not', () => {
    const plain = closeFrame(1001, 'bye', false);
    assert.deepEqual([...plain.subarray(0, 4)], [0x88, 5, 0x03, 0xe9]);
    assert.equal(plain.subarray(4).toString(), 'bye');
    const masked = closeFrame(1001, 'bye', true);
    assert.equal(masked[1], 0x80 | 5);
    const mask = masked.subarray(2, 6);
    const payload = Buffer.from(masked.subarray(6).map((byte, i) => byte ^ mask[i & 3]!));
    assert.equal(payload.readUInt16BE(0), 1001);
    assert.equal(payload.subarray(2).toString(), 'bye');
  });
});
