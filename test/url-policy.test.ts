// Which URLs a manifest may download from: https anywhere, plain http only to loopback or when allowed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkUrl, isLoopbackHost } from '../src/manifest/url-policy.js';

describe('checkUrl and isLoopbackHost', () => {
  const strict = { allowHttp: false };

  it('accepts https anywhere and http to loopback', () => {
    for (const url of [
      'https://huggingface.co/a/resolve/main/b.bin',
      'https://example.com:8443/x?download=1',
      'http://127.0.0.1:9000/x',
      'http://127.255.255.254/x',
      'http://127.1/x',
      'http://[::1]:9000/x',
      'http://[0:0:0:0:0:0:0:1]/x',
      'http://localhost/x',
      'http://LOCALHOST:80/x',
    ]) {
      assert.deepEqual(checkUrl(url, strict), { ok: true }, url);
    }
  });

  it('refuses http to other hosts unless allowHttp', () => {
    const insecure = {
      ok: false,
      code: 'INSECURE_URL',
      reason: 'http is only allowed for loopback hosts; use https or --allow-http',
    };
    for (const url of [
      'http://example.com/x',
      'http://128.0.0.1/x',
      'http://localhost.example.com/x',
      'http://127.0.0.1.nip.io/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://[::2]/x',
      'http://0.0.0.0/x',
    ]) {
      assert.deepEqual(checkUrl(url, strict), insecure, url);
      assert.deepEqual(checkUrl(url, { allowHttp: true }), { ok: true }, url);
    }
  });

  it('rejects what is not an absolute http(s) URL, whatever allowHttp says', () => {
    const cases: [string, string][] = [
      ['', 'must not be empty'],
      ['models/x.bin', 'is not a valid absolute URL'],
      ['https://', 'is not a valid absolute URL'],
      [' https://example.com/x', 'must not contain spaces or control characters; percent-encode them (%20)'],
      ['https://example.com/a b', 'must not contain spaces or control characters; percent-encode them (%20)'],
      ['https://exa\tmple.com/x', 'must not contain spaces or control characters; percent-encode them (%20)'],
      ['ftp://example.com/x', 'must use https (found "ftp:")'],
      ['file:///etc/passwd', 'must use https (found "file:")'],
      ['data:text/plain,hi', 'must use https (found "data:")'],
      ['javascript:alert(1)', 'must use https (found "javascript:")'],
      ['https://user:pass@example.com/x', 'must not contain a user name or password; pass a token with the token option instead'],
      ['https://token@example.com/x', 'must not contain a user name or password; pass a token with the token option instead'],
      ['http://user:pass@127.0.0.1/x', 'must not contain a user name or password; pass a token with the token option instead'],
    ];
    for (const [url, reason] of cases) {
      for (const allowHttp of [false, true]) {
        assert.deepEqual(checkUrl(url, { allowHttp }), { ok: false, code: 'MANIFEST_INVALID', reason }, url);
      }
    }
  });

  it('isLoopbackHost knows the spellings of loopback and nothing more', () => {
    for (const host of ['localhost', 'LocalHost', '127.0.0.1', '127.9.8.7', '::1', '[::1]', '0:0::1']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    for (const host of ['', 'localhost.', 'a.localhost', '128.0.0.1', '0177.0.0.1', '::', '::1%lo', '[::2]', 'example.com']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});
