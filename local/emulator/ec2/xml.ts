/**
 * Just enough XML to answer like EC2: the SDK's parser wants element names, nesting and `item`
 * list entries, nothing more (no attributes besides the namespace).
 */

/** EC2's API version and namespace of our subset. */
export const EC2_API_VERSION = '2016-11-15';
const EC2_NAMESPACE = `http://ec2.amazonaws.com/doc/${EC2_API_VERSION}/`;

/** A leaf value; undefined leaves the element out. */
export type XmlScalar = string | number | boolean | undefined;

/** Escapes text for element content. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** `<name>value</name>`, or nothing when value is undefined. */
export function leaf(name: string, value: XmlScalar): string {
  return value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `<name>children</name>`. */
export function node(name: string, ...children: string[]): string {
  return `<${name}>${children.join('')}</${name}>`;
}

/** `<name><item>…</item>…</name>`: EC2's list shape. */
export function itemSet(name: string, items: string[]): string {
  return node(name, ...items.map((item) => node('item', item)));
}

/** The response document of `action`. */
export function response(action: string, requestId: string, ...children: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NAMESPACE}">${leaf('requestId', requestId)}${children.join('')}</${action}Response>`;
}

/** EC2's error document (a different shape from the other Query services). */
export function errorResponse(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${leaf('Code', code)}${leaf('Message', message)}</Error></Errors>${leaf('RequestID', requestId)}</Response>`;
}
