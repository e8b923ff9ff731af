// Checks one request of a recipe (deploy/docs/recipes.md) the way the receiving product or
// service documents it, independent of hookrelay's code: the MockReview, Smartlook and
// Miniback signature checks as their documents write them in Node.js, and the message
// shapes and limits Slack, Discord and JIRA document.
// Input on stdin: {"product", "secret", "headers" (names lowercased), "body"}.
// Exit 0 when the request passes, 1 (with the reason) otherwise.
const crypto = require('crypto');

function fail(why) {
  console.error(`${process.env.RECIPE || 'recipe'}: ${why}`);
  process.exit(1);
}

function check(condition, why) {
  if (!condition) fail(why);
}

// UTF-16 code units, as Slack and Discord count characters.
function units(s) {
  return typeof s === 'string' ? s.length : 0;
}

// MockReview's guide, section 5.1, Node.js example: HMAC-SHA256 hex of JSON.stringify(req.body).
function verifyMockReview(headers, body, secret) {
  const signature = headers['x-mockreview-signature'];
  const hmac = crypto.createHmac('sha256', secret)
    .update(JSON.stringify(JSON.parse(body)))
    .digest('hex');
  check(signature === hmac, `X-MockReview-Signature ${signature} is not ${hmac}`);
}

// Smartlook's "Hash verification": createHmac('sha256', secret).update(`${message}`).digest('hex').
function verifySmartlook(headers, body, secret) {
  const signature = crypto.createHmac('sha256', secret).update(`${body}`).digest('hex');
  check(headers['smartlook-signature-256'] === signature,
        'Smartlook-Signature-256 does not verify');
  const event = JSON.parse(body);
  for (const key of ['type', 'timestamp', 'project', 'organization', 'data']) {
    check(key in event, `body lacks ${key}`);
  }
}

// Miniback's "Verification Examples" (Node.js) and "Validate Payloads".
function verifyMiniback(headers, body, secret) {
  function verifySignature(payload, signature, secret) {
    const expectedSignature = crypto
      .createHmac('sha256', secret)
      .update(payload, 'utf8')
      .digest('hex');
    return crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expectedSignature));
  }
  function isValidWebhook(body) {
    return (body && ['feedback.created', 'feedback.updated'].includes(body.event) &&
            body.timestamp && body.data && body.data.feedback && body.data.project);
  }
  let verified = false;
  try {
    verified = verifySignature(body, headers['x-miniback-signature'] || '', secret);
  } catch (err) {
    fail(`X-Miniback-Signature: ${err.message}`);
  }
  check(verified, 'X-Miniback-Signature does not verify');
  check(headers['user-agent'] === 'Miniback-Webhook/1.0', `User-Agent ${headers['user-agent']}`);
  check(headers['content-type'] === 'application/json', 'Content-Type is not application/json');
  const event = JSON.parse(body);
  check(event.event === 'test' || isValidWebhook(event), 'not a valid Miniback webhook');
  const stamp = headers['x-miniback-timestamp'];
  check(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(stamp), `X-Miniback-Timestamp ${stamp}`);
  check(stamp === event.timestamp, 'X-Miniback-Timestamp is not the event\'s timestamp');
}

// Slack's legacy message attachments.
function verifySlack(headers, body) {
  const message = JSON.parse(body);
  check(Array.isArray(message.attachments) && message.attachments.length >= 1 &&
        message.attachments.length <= 100, 'attachments: 1 to 100');
  for (const a of message.attachments) {
    check(/^#[0-9a-fA-F]{6}$/.test(a.color), `color ${a.color}`);
    check(typeof a.title === 'string' && a.title.length > 0, 'title');
    check(!a.title_link || /^https?:\/\//.test(a.title_link), 'title_link');
    check(Number.isInteger(a.ts), 'ts: Unix seconds');
    for (const f of a.fields || []) {
      check(typeof f.title === 'string' && typeof f.value === 'string' &&
            typeof f.short === 'boolean', `field ${JSON.stringify(f)}`);
    }
  }
}

// Discord's embed limits: a message beyond them is answered 400.
function verifyDiscord(headers, body) {
  const message = JSON.parse(body);
  check(Array.isArray(message.embeds) && message.embeds.length >= 1 &&
        message.embeds.length <= 10, 'embeds: 1 to 10');
  let total = 0;
  for (const e of message.embeds) {
    check(units(e.title) <= 256 && units(e.description) <= 4096, 'title or description too long');
    check(Number.isInteger(e.color) && e.color >= 0 && e.color <= 0xffffff, 'color');
    check(!e.url || /^https?:\/\//.test(e.url), 'url');
    check(!e.timestamp || !Number.isNaN(Date.parse(e.timestamp)), 'timestamp: ISO 8601');
    const fields = e.fields || [];
    check(fields.length <= 25, 'at most 25 fields');
    for (const f of fields) {
      check(units(f.name) >= 1 && units(f.name) <= 256, 'field name: 1 to 256');
      check(units(f.value) >= 1 && units(f.value) <= 1024, 'field value: 1 to 1024');
      total += units(f.name) + units(f.value);
    }
    const footer = e.footer ? e.footer.text : '';
    const author = e.author ? e.author.name : '';
    check(units(footer) <= 2048 && units(author) <= 256, 'footer or author too long');
    total += units(e.title) + units(e.description) + units(footer) + units(author);
  }
  check(total <= 6000, `embeds total ${total} > 6000`);
}

// Atlassian Document Format, the node and mark kinds a comment uses.
function checkAdf(node) {
  check(node && typeof node.type === 'string', `node without a type: ${JSON.stringify(node)}`);
  if (node.type === 'text') {
    check(typeof node.text === 'string' && node.text.length > 0 && !node.text.includes('\n'),
          'text nodes hold non-empty text without newlines');
    for (const mark of node.marks || []) {
      check(['strong', 'em', 'code', 'link', 'strike', 'underline'].includes(mark.type),
            `mark ${mark.type}`);
      if (mark.type === 'link') {
        check(mark.attrs && /^https?:\/\//.test(mark.attrs.href), 'link href');
      }
    }
    return;
  }
  if (node.type === 'hardBreak') return;
  const blocks = ['paragraph', 'bulletList', 'orderedList', 'listItem', 'heading', 'blockquote'];
  check(blocks.includes(node.type), `node type ${node.type}`);
  check(Array.isArray(node.content), `${node.type} without content`);
  node.content.forEach(checkAdf);
}

// JIRA Cloud REST v3 POST /issue/{key}/comment: an ADF body within 32,767 characters, Basic auth.
function verifyJira(headers, body) {
  const request = JSON.parse(body);
  check(request.body && request.body.type === 'doc' && request.body.version === 1, 'ADF doc v1');
  check(Array.isArray(request.body.content) && request.body.content.length > 0, 'doc content');
  request.body.content.forEach(checkAdf);
  check(JSON.stringify(request.body).length <= 32767, 'comment longer than 32,767 characters');
  const auth = headers.authorization || '';
  check(auth.startsWith('Basic '), 'Authorization: Basic');
  const credentials = Buffer.from(auth.slice(6), 'base64').toString('utf8');
  check(/^[^:@]+@[^:]+:.+$/.test(credentials), 'Basic credentials are email:api-token');
}

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const { product, secret, headers, body } = JSON.parse(input);
  process.env.RECIPE = product;
  const verifiers = {
    'mockreview-slack': verifySlack,
    'mockreview-discord': verifyDiscord,
    'mockreview-jira': verifyJira,
    'mockreview-custom': verifyMockReview,
    'smartlook': verifySmartlook,
    'miniback': verifyMiniback,
  };
  check(product in verifiers, `unknown product ${product}`);
  verifiers[product](headers, body, secret);
  console.log(`${product}: verified`);
});
