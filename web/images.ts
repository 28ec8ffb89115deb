/** Images picked in the composer: scaled down before they are sent, plus a small thumbnail to keep with the chat. */

export interface PickedImage {
  type: string;
  /** base64, as sent */
  data: string;
  /** A small JPEG data URL for the chat (kept in localStorage, so it stays small). */
  thumb: string;
}

/** Longest side sent to the app: enough for vision models, small enough for a quick upload. */
const MAX_SIDE = 1600;
const THUMB_SIDE = 160;
/** What the server accepts per image (src/groups/webapp-skin/images.ts). */
export const MAX_IMAGE_BYTES = 4 * 1024 * 1024;

export class ImageTooLargeError extends Error {}

/** A blob's bytes as base64 (how the page's API takes images and recordings). */
export function blobToBase64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function draw(bitmap: ImageBitmap, side: number): HTMLCanvasElement {
  const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const g = canvas.getContext('2d')!;
  // JPEG has no transparency: put transparent parts on white, not black.
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return canvas;
}

function toBlob(canvas: HTMLCanvasElement, type: string, quality: number): Promise<Blob> {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('encode failed'))), type, quality));
}

/**
 * Small pictures and GIFs (which may move) go as they are; anything larger is redrawn at most
 * MAX_SIDE pixels on its longest side as JPEG.
 */
export async function pickImage(file: File): Promise<PickedImage> {
  const bitmap = await createImageBitmap(file);
  try {
    const thumb = draw(bitmap, THUMB_SIDE).toDataURL('image/jpeg', 0.7);
    const keep = file.type === 'image/gif' || (file.size <= 1024 * 1024 && Math.max(bitmap.width, bitmap.height) <= MAX_SIDE && ['image/png', 'image/jpeg', 'image/webp'].includes(file.type));
    const blob = keep ? file : await toBlob(draw(bitmap, MAX_SIDE), 'image/jpeg', 0.85);
    if (blob.size > MAX_IMAGE_BYTES) throw new ImageTooLargeError();
    return { type: keep ? file.type : 'image/jpeg', data: await blobToBase64(blob), thumb };
  } finally {
    bitmap.close();
  }
}
