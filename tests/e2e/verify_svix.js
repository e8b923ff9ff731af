// Verifies a Standard Webhooks request with the public `svix` npm package (its own
// implementation, independent of ours and of `standardwebhooks`), which reads the same
// values under `svix-id`, `svix-timestamp` and `svix-signature`.
// Input on stdin: {"secret","headers","body"}.
// Exit 0 when the signature verifies, 1 (with the library's error) otherwise.
const { Webhook } = require('svix');

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const { secret, headers, body } = JSON.parse(input);
  try {
    new Webhook(secret).verify(body, headers);
    console.log('verified');
  } catch (err) {
    console.error(`verification failed: ${err.message}`);
    process.exit(1);
  }
});
