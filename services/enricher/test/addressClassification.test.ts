import { describe, expect, it } from 'vitest';
import { classifySourceAddress } from '../src/addressClassification.js';

describe('classifySourceAddress', () => {
  it.each([
    ['81.2.69.160', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['192.0.2.10', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['252.5.222.230', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['0.0.0.0', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['ff02::1', 'reserved'],
    ['AWS Internal', 'aws-internal'],
    ['ec2.amazonaws.com', 'aws-service'],
    ['cloudformation.amazonaws.com', 'aws-service'],
    ['proxy.example.com', 'hostname'],
    ['', 'invalid'],
    ['   ', 'invalid'],
    ['255.090.254.5', 'invalid'],
    ['999.1.1.1', 'invalid'],
    ['not an address', 'invalid'],
    ['1.2.3.4, 5.6.7.8', 'invalid'],
    ['gggg::1', 'invalid'],
  ])('%s is %s', (value, classification) => {
    expect(classifySourceAddress(value).classification).toBe(classification);
  });

  it('unwraps IPv4-mapped IPv6 and brackets, so they are looked up as what they are', () => {
    expect(classifySourceAddress('::ffff:81.2.69.160')).toEqual({ classification: 'public', address: '81.2.69.160', family: 4 });
    expect(classifySourceAddress('::ffff:10.0.0.1')).toMatchObject({ classification: 'private', family: 4 });
    expect(classifySourceAddress('[2001:4860:4860::8888]')).toEqual({ classification: 'public', address: '2001:4860:4860::8888', family: 6 });
  });
});
