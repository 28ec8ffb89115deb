/**
 * Images sent from the chat page: whether the app takes them (its file-upload feature, and how the
 * host can hand files over), the checks on what the page sends, and the upload to Dify. The page
 * sends each image once, base64 in the chat request, already scaled down.
 */
import type { AppHandle, AppParameters, DifyFileInput } from '../../backend/types.js';
import { fileInputOf } from '../../dify/app-inputs.js';

export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
/** Per image, decoded. The daemon passes at most 10 MiB of body to a plugin. */
export const MAX_IMAGE_BYTES = 4 * 1024 * 1024;
const MAX_IMAGES = 4;

export interface PageImage {
  type: string;
  /** base64 */
  data: string;
}

export interface ImageSupport {
  max: number;
  /** Plugin hosts pass files only through the app's file input: which one, and whether it takes a list. */
  into?: { variable: string; list: boolean };
}

export function imageSupport(handle: AppHandle, params: AppParameters | undefined): ImageSupport | undefined {
  if (!params || !handle.uploadFile || handle.fileTransfer === 'none') return undefined;
  if (handle.fileTransfer === 'upload_only') {
    const into = fileInputOf(params);
    return into && { max: into.list ? MAX_IMAGES : 1, into };
  }
  const upload = params.fileUpload;
  if (!upload?.enabled) return undefined;
  if (upload.allowedTypes?.length && !upload.allowedTypes.includes('image') && !upload.allowedTypes.includes('custom')) return undefined;
  if (upload.transferMethods?.length && !upload.transferMethods.includes('local_file')) return undefined;
  return { max: Math.max(1, Math.min(MAX_IMAGES, upload.numberLimits ?? MAX_IMAGES)) };
}

/** The `images` of a chat request: at most four, each a known image type within the size limit. */
export function parseImages(raw: unknown): { images: PageImage[] } | { error: string; param: string } {
  if (raw === undefined || raw === null) return { images: [] };
  if (!Array.isArray(raw) || raw.length > MAX_IMAGES) return { error: `images must be a list of at most ${MAX_IMAGES} images`, param: 'images' };
  const images: PageImage[] = [];
  for (const [i, item] of raw.entries()) {
    const param = `images[${i}]`;
    const { type, data } = (item ?? {}) as Record<string, unknown>;
    if (typeof type !== 'string' || !IMAGE_TYPES.includes(type)) return { error: `images must be PNG, JPEG, WebP or GIF`, param: `${param}.type` };
    if (typeof data !== 'string' || data === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return { error: 'image data must be base64', param: `${param}.data` };
    if (Math.floor((data.length * 3) / 4) > MAX_IMAGE_BYTES) return { error: `an image is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MiB`, param: `${param}.data` };
    images.push({ type, data });
  }
  return { images };
}

/** Uploads the images for `user`; returns how the run carries them (files, or the app's file input). */
export async function uploadImages(
  handle: AppHandle,
  support: ImageSupport,
  images: PageImage[],
  user: string,
): Promise<{ files?: DifyFileInput[]; inputs?: Record<string, unknown> }> {
  const files: DifyFileInput[] = [];
  for (const [i, image] of images.entries()) {
    const ext = image.type.slice('image/'.length);
    const { id } = await handle.uploadFile!({ data: Buffer.from(image.data, 'base64'), filename: `image-${i + 1}.${ext}`, mimeType: image.type }, user);
    files.push({ type: 'image', transfer_method: 'local_file', upload_file_id: id });
  }
  if (!support.into) return { files };
  return { inputs: { [support.into.variable]: support.into.list ? files : files[0] } };
}
