/**
 * The stable failure codes of modelhaul: what each means, whether the engine retries it on its own
 * (`retryable`, and in words `retried`), and two default hints: `hint`, for whoever runs a command
 * or builds an app (it names commands, options and files), and `appHint`, for a person using an
 * app, who never sees a command line (the lifecycle's snapshots and the download modal show it).
 * This table is the single source of the README's error table, which
 * `scripts/readme-error-table.ts` writes from it and `test/readme.test.ts` checks word for word.
 */
export const ERROR_CODES = {
  MANIFEST_INVALID: {
    meaning: 'The manifest is not valid JSON or does not match the format (the message names the field).',
    retryable: false,
    retried: 'no (exit 2)',
    hint: 'Fix the field named in the message; `modelhaul manifest check FILE` validates a manifest without downloading anything.',
    appHint: 'The list of model files that came with this app is not valid. An update of the app should fix it.',
  },
  MANIFEST_VERSION: {
    meaning: "The manifest's `schemaVersion` is newer than this modelhaul reads.",
    retryable: false,
    retried: 'no (exit 2)',
    hint: 'Upgrade modelhaul (`npm install modelhaul@latest`) to a version that reads this schemaVersion, or ask the app vendor for a manifest with schemaVersion 1.',
    appHint: 'The list of model files that came with this app needs a newer version of the app.',
  },
  INSECURE_URL: {
    meaning: 'An artifact URL uses plain http to a host that is not loopback.',
    retryable: false,
    retried: 'no (exit 2)',
    hint: 'Use an https:// URL, or pass --allow-http if the network path is trusted.',
    appHint: 'The app would download over an insecure connection, so it did not. An update of the app should fix it.',
  },
  SOURCE_INVALID: {
    meaning:
      "A mirror (`--mirror`, `MODELHAUL_MIRRORS`, the manifest's `mirrors`, the `mirrors` option) is not a source this modelhaul can use: not https (http only to loopback or with `--allow-http`), credentials or a query in the URL, a malformed `oci://` or `oci-layout:` reference. During an install, an OCI mirror whose bundle cannot be read (not a bundle, a manifest that is not its digest) is skipped with this code in its `failover` event.",
    retryable: false,
    retried: 'no (exit 2); a mirror found unusable during an install is skipped',
    hint: 'Write a mirror as https://HOST/PREFIX (a web server holding a copy of an install dir; each artifact is fetched from PREFIX/<its path>), oci://HOST/REPOSITORY:TAG or oci-layout:PATH[:TAG].',
    appHint: 'A download location configured for this app is not valid. Ask whoever set up this computer to check it.',
  },
  UNSAFE_PATH: {
    meaning: 'An install path goes through a symbolic link; found before any byte is downloaded.',
    retryable: false,
    retried: 'no',
    hint: 'Remove the symbolic link named in the message from the install dir, or choose another --dir.',
    appHint: 'The model folder contains a link that leads outside it. Remove the link, then choose Retry.',
  },
  HTTP_STATUS: {
    meaning: 'The server answered with an HTTP status that is not a success.',
    retryable: false,
    retried:
      'yes for 408, 425, 429, 500, 502, 503, 504 (honouring `Retry-After`), and for 401/403/410 from a redirect target (the manifest URL is resolved again); no for the rest',
    hint: 'Check that the URL in the manifest is still correct and that you have access to it.',
    appHint: 'The download server refused the request. Try again later; if it keeps happening, the app may need an update.',
  },
  NETWORK: {
    meaning: 'The connection failed, was reset, or a body ended early.',
    retryable: true,
    retried: 'yes, resuming from the bytes on disk',
    hint: 'Check your internet connection and run the same command again; downloaded bytes are kept.',
    appHint: 'The connection dropped. Everything downloaded so far is kept.',
  },
  STALLED: {
    meaning: 'No byte arrived for longer than the stall timeout (headers or body).',
    retryable: true,
    retried: 'yes, resuming',
    hint: 'The connection stalled; run the same command again to resume, or raise --stall-timeout on a slow link.',
    appHint: 'The server stopped sending data. The download goes on from where it stopped.',
  },
  TLS: {
    meaning: "The server's TLS certificate could not be verified (self-signed, expired, issued for another name) or the TLS handshake failed.",
    retryable: false,
    retried: 'no: trying again cannot make a certificate valid',
    hint: 'The server is not who it claims to be, or a proxy in between intercepts TLS; check the URL, or trust the certificate with NODE_EXTRA_CA_CERTS if it is your own.',
    appHint: 'The connection to the download server is not secure (its certificate could not be checked), so nothing was downloaded. Try another network.',
  },
  PROTOCOL: {
    meaning: 'The server broke the HTTP protocol: response headers larger than allowed, or a malformed body framing (a garbled chunked body).',
    retryable: false,
    retried: 'no; bytes already on disk are kept',
    hint: 'The server (or a proxy in between) sends responses modelhaul cannot read; try again later or from another network, and report it to the host if it persists.',
    appHint: 'The download server sent a reply the app cannot read. Everything downloaded so far is kept; try again later.',
  },
  CONTENT_ENCODING: {
    meaning: 'The server compressed the body although `Accept-Encoding: identity` was sent.',
    retryable: false,
    retried: 'no',
    hint: 'The server or a proxy in between re-encodes downloads; try another network or ask the host to serve the file unmodified.',
    appHint: 'Something on this network changes downloads on the way. Try another network.',
  },
  RANGE_NOT_HONOURED: {
    meaning: 'A `206` did not match the requested range exactly (or was `multipart/byteranges`); nothing was appended.',
    retryable: true,
    retried: 'yes: the file starts over from zero without ranges (at most 3 times)',
    hint: 'The server or a cache in between answers byte ranges wrongly; modelhaul restarts the file from zero, run the same command again.',
    appHint: 'The server could not continue the file where it stopped, so it starts again from the beginning.',
  },
  SIZE_MISMATCH: {
    meaning: "The server's file has another size than the manifest says (declared, or one byte too many arrived).",
    retryable: false,
    retried: 'no; the bytes are discarded',
    hint: 'The file on the server is not the one the manifest describes; the manifest may be out of date.',
    appHint: 'The file on the server is not the one this app expects. An update of the app should fix it.',
  },
  CHECKSUM_MISMATCH: {
    meaning: "The downloaded bytes do not have the manifest's SHA-256; they were discarded and nothing was installed.",
    retryable: false,
    retried: 'once from zero when bytes came from an earlier run or without a strong validator; otherwise no',
    hint: 'The upstream file changed or was corrupted in transit; update the manifest if the change is expected, otherwise run the same command again.',
    appHint: 'A downloaded file was damaged on the way and was thrown away. Choose Retry to download it again.',
  },
  DISK_FULL: {
    meaning: 'Not enough free space: found before downloading (with the bytes needed) or when a write failed.',
    retryable: false,
    retried: 'no; what is on disk is kept',
    hint: 'Free the number of bytes named in the message and run the same command again; downloaded bytes are kept.',
    appHint: 'There is not enough free space on this disk. Free up some space, then choose Retry.',
  },
  PERMISSION_DENIED: {
    meaning: 'The system refused to create, write or rename a file (including a read-only file system).',
    retryable: false,
    retried: 'no',
    hint: 'Make the install dir writable by this user, or choose another one with --dir.',
    appHint: 'The app is not allowed to save files in its model folder. Check the folder permissions, then choose Retry.',
  },
  FILESYSTEM: {
    meaning: 'Another file-system error (I/O error, a file where a folder should be, a failed fsync).',
    retryable: false,
    retried: 'no',
    hint: 'Check the disk named in the message; downloaded bytes that were saved are kept for the next run.',
    appHint: 'The disk reported an error while saving. Check the disk, then choose Retry.',
  },
  REDIRECT: {
    meaning: 'A redirect was refused: more than 10 hops, a loop, a non-HTTP scheme, https to http, or http to a non-loopback host.',
    retryable: false,
    retried: 'no',
    hint: 'The server redirects somewhere modelhaul will not follow; check the URL in the manifest.',
    appHint: 'The download server sent the app somewhere it does not trust. An update of the app should fix it.',
  },
  LOCKED: {
    meaning: 'Another modelhaul process is installing into the same dir and the wait for it ran out.',
    retryable: true,
    retried: 'no (the caller may retry: `retryable` is true)',
    hint: 'Wait for the other install to finish; if no modelhaul process is running there, delete the lock file named in the message.',
    appHint: 'Another window or copy of this app is downloading the same files. Wait for it to finish, or close it and choose Retry.',
  },
  ABORTED: {
    meaning: 'Cancelled by an `AbortSignal`, Ctrl+C or SIGTERM.',
    retryable: true,
    retried: 'no (the CLI exits 130/143)',
    hint: 'Run the same command again to resume; downloaded bytes are kept.',
    appHint: 'The download was stopped. Everything downloaded so far is kept.',
  },
  AUTH_REQUIRED: {
    meaning: 'A registry needs credentials that modelhaul does not have, or refused the ones it has.',
    retryable: false,
    retried: 'no',
    hint: 'Log in with `modelhaul login HOST` (or `docker login HOST`), then run the same command again.',
    appHint: 'The download server asks for a sign-in this computer does not have. Ask whoever set up this computer for access.',
  },
  NOT_FOUND: {
    meaning:
      'A manifest file, a file to import, an artifact id, or a registry repository, tag or image-layout image named on the command line does not exist; for `push`, artifacts that are not installed and verified.',
    retryable: false,
    retried: 'no (exit 2)',
    hint: 'Check the id against `modelhaul status` and the file name.',
    appHint: 'A file this app needs is not on the download server. An update of the app should fix it.',
  },
} as const satisfies Record<string, { meaning: string; retryable: boolean; retried: string; hint: string; appHint: string }>;

/** A stable string naming one kind of failure; see {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Every code, in table order. */
export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];
