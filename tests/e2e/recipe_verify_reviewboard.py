"""Checks a Review Board recipe request (deploy/docs/recipes.md) as Review Board writes it.

Independent of hookrelay's code: the signature is Python's hmac over the raw body, as Review
Board signs (X-Hub-Signature: sha1=<hex HMAC-SHA1>); the XML is compared byte for byte with
Review Board's XML encoding (djblets' XMLEncoderAdapter, rebuilt here from its documented
behaviour on Python's own xml.sax.saxutils.XMLGenerator); the form body is parsed with
urllib. Input on stdin: {"kind": "json" | "xml" | "form" | "custom", "secret", "headers"
(names lowercased), "body", "payload" (the event's payload as JSON text)}. Exit 0 when the request passes, 1 otherwise.
"""

import hashlib
import hmac
import io
import json
import sys
import urllib.parse
import xml.dom.minidom
from xml.sax.saxutils import XMLGenerator


class ReviewBoardXml:
    """Review Board's XML: <rsp>, dicts as elements, lists as <array><item>, indented."""

    def encode(self, value):
        self.level = 0
        self.do_indent = False
        out = io.StringIO()
        self.xml = XMLGenerator(out, 'utf-8')
        self.xml.startDocument()
        self.start('rsp')
        self.value(value)
        self.end('rsp')
        self.xml.endDocument()
        return out.getvalue()

    def value(self, o):
        if isinstance(o, dict):
            for key, member in o.items():
                self.start(key)
                self.value(member)
                self.end(key)
        elif isinstance(o, list):
            self.start('array')
            for item in o:
                self.start('item')
                self.value(item)
                self.end('item')
            self.end('array')
        elif isinstance(o, str):
            self.text(o)
        elif isinstance(o, int):  # bool is an int: True is written 1
            self.text('%d' % o)
        elif isinstance(o, float):
            self.text('%s' % o)

    def start(self, name):
        self.indent()
        self.xml.startElement(name, {})
        self.level += 1
        self.do_indent = True

    def end(self, name):
        self.level -= 1
        self.indent()
        self.xml.endElement(name)
        self.do_indent = True

    def text(self, s):
        self.xml.characters(s)
        self.do_indent = False

    def indent(self):
        if self.do_indent:
            self.xml.ignorableWhitespace('\n' + ' ' * self.level)


CONTENT_TYPES = {
    'json': 'application/json',
    'xml': 'application/xml',
    'form': 'application/x-www-form-urlencoded',
    'custom': 'application/json',
}


def fail(why):
    print('reviewboard: ' + why, file=sys.stderr)
    sys.exit(1)


def check_body(kind, body, payload):
    if kind == 'json' and json.loads(body) != payload:
        fail('the JSON body is not the payload')
    if kind == 'xml':
        xml.dom.minidom.parseString(body.encode('utf-8'))  # well-formed, or raises
        expected = ReviewBoardXml().encode(payload)
        if body != expected:
            fail('the XML differs from Review Board\'s encoding:\n%s\n---\n%s' % (body, expected))
    if kind == 'form':
        fields = urllib.parse.parse_qs(body, keep_blank_values=True, strict_parsing=True)
        if list(fields) != ['payload'] or json.loads(fields['payload'][0]) != payload:
            fail('the form does not carry the payload in payload=')
    if kind == 'custom':
        message = json.loads(body)
        if message.get('url') != payload['review_request']['absolute_url']:
            fail('the custom payload lacks the review request\'s URL')


def main():
    request = json.load(sys.stdin)
    kind, headers, body = request['kind'], request['headers'], request['body']
    request['payload'] = json.loads(request['payload'])  # members in the payload's order
    digest = hmac.new(request['secret'].encode('utf-8'), body.encode('utf-8'),
                      hashlib.sha1).hexdigest()
    if not hmac.compare_digest(headers.get('x-hub-signature', ''), 'sha1=' + digest):
        fail('X-Hub-Signature does not verify')
    if headers.get('content-type') != CONTENT_TYPES[kind]:
        fail('Content-Type %s is not the encoding' % headers.get('content-type'))
    if headers.get('x-reviewboard-event') != request['payload']['event']:
        fail('X-ReviewBoard-Event is not the payload\'s event')
    if not headers.get('user-agent', '').startswith('ReviewBoard-WebHook/'):
        fail('User-Agent is not ReviewBoard-WebHook/<version>')
    check_body(kind, body, request['payload'])
    print('reviewboard %s: verified' % kind)


if __name__ == '__main__':
    main()
