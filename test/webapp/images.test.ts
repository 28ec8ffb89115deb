/** Which apps take images from the page, and how a host hands them over. */
import { describe, expect, it } from 'vitest';
import type { AppParameters } from '../../src/backend/types.js';
import { imageSupport, parseImages, uploadImages } from '../../src/groups/webapp-skin/images.js';
import { FakeChatApp } from './fake-app.js';

const params = (p: Partial<AppParameters>): AppParameters => ({ suggestedQuestions: [], inputs: [], ...p });

describe('imageSupport', () => {
  it('standalone: the app\'s file-upload feature decides (images, local files, the number limit)', () => {
    const app = new FakeChatApp('a', 'A', {}, { fileTransfer: 'remote_url_and_upload' });
    expect(imageSupport(app, params({}))).toBeUndefined();
    expect(imageSupport(app, params({ fileUpload: { enabled: false } }))).toBeUndefined();
    expect(imageSupport(app, params({ fileUpload: { enabled: true, allowedTypes: ['document'] } }))).toBeUndefined();
    expect(imageSupport(app, params({ fileUpload: { enabled: true, transferMethods: ['remote_url'] } }))).toBeUndefined();
    expect(imageSupport(app, params({ fileUpload: { enabled: true, allowedTypes: ['image'], numberLimits: 3 } }))).toEqual({ max: 3 });
    expect(imageSupport(app, params({ fileUpload: { enabled: true } }))).toEqual({ max: 4 });
  });

  it('plugin: images go through the app\'s file input (one for a file, several for a file list); none without one', async () => {
    const app = new FakeChatApp('a', 'A', {}, { fileTransfer: 'upload_only' });
    expect(imageSupport(app, params({ fileUpload: { enabled: true } }))).toBeUndefined();
    const single = imageSupport(app, params({ inputs: [{ variable: 'photo', type: 'file', required: false }] }))!;
    expect(single).toEqual({ max: 1, into: { variable: 'photo', list: false } });
    const list = imageSupport(app, params({ inputs: [{ variable: 'photos', type: 'file-list', required: false }] }))!;
    const image = { type: 'image/png', data: Buffer.from('png').toString('base64') };
    const out = await uploadImages(app, list, [image, image], 'webapp-u');
    expect(out.files).toBeUndefined();
    expect(out.inputs).toEqual({ photos: app.uploads.map((u) => ({ type: 'image', transfer_method: 'local_file', upload_file_id: u.id })) });
    expect(app.uploads.map((u) => [u.filename, u.mimeType, u.user])).toEqual([['image-1.png', 'image/png', 'webapp-u'], ['image-2.png', 'image/png', 'webapp-u']]);
    expect(imageSupport(new FakeChatApp(), params({ inputs: [{ variable: 'photo', type: 'file', required: false }] }))).toBeUndefined();
  });
});

describe('parseImages', () => {
  it('takes up to four PNG, JPEG, WebP or GIF images as base64 within the size limit', () => {
    expect(parseImages(undefined)).toEqual({ images: [] });
    expect(parseImages([{ type: 'image/jpeg', data: 'AAAA' }])).toEqual({ images: [{ type: 'image/jpeg', data: 'AAAA' }] });
    expect(parseImages('x')).toMatchObject({ param: 'images' });
    expect(parseImages(Array(5).fill({ type: 'image/png', data: 'AAAA' }))).toMatchObject({ param: 'images' });
    expect(parseImages([{ type: 'image/svg+xml', data: 'AAAA' }])).toMatchObject({ param: 'images[0].type' });
    expect(parseImages([{ type: 'image/png', data: 'not base64!' }])).toMatchObject({ param: 'images[0].data' });
    expect(parseImages([{ type: 'image/png', data: 'A'.repeat(6 * 1024 * 1024) }])).toMatchObject({ param: 'images[0].data', error: expect.stringMatching(/larger than 4 MiB/) });
  });
});
