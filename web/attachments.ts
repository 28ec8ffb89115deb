/** Images picked (or pasted) for the next message, shown above the composer until it is sent. */
import { h, iconButton } from './dom.js';
import { fill, type Strings } from './i18n.js';
import { icons } from './icons.js';
import { ImageTooLargeError, pickImage, type PickedImage } from './images.js';

export class Attachments {
  readonly element: HTMLElement;
  private picked: PickedImage[] = [];

  constructor(
    private readonly t: Strings,
    /** Tells screen readers (and the composer's live region) why an image was not added. */
    private readonly announce: (text: string) => void,
    private readonly onRemove: () => void,
  ) {
    this.element = h('div', { class: 'attachments', 'aria-label': t.attachImage });
    this.element.hidden = true;
  }

  /** Reads files into images (scaled down), up to `max` in all. */
  async add(files: File[], max: number): Promise<void> {
    for (const file of files) {
      if (this.picked.length >= max) {
        this.announce(fill(this.t.tooManyImages, { n: String(max) }));
        break;
      }
      try {
        this.picked.push(await pickImage(file));
      } catch (err) {
        this.announce(err instanceof ImageTooLargeError ? this.t.imageTooLarge : this.t.imageUnreadable);
      }
    }
    this.render();
  }

  /** The picked images, leaving none (they go with the message being sent). */
  take(): PickedImage[] {
    const images = this.picked;
    this.clear();
    return images;
  }

  clear(): void {
    this.picked = [];
    this.render();
  }

  private render(): void {
    this.element.replaceChildren();
    this.element.hidden = this.picked.length === 0;
    this.picked.forEach((image, i) => {
      const item = h('div', { class: 'attachment' });
      item.append(h('img', { src: image.thumb, alt: this.t.image }));
      const remove = iconButton('attachment-remove', icons.close, this.t.removeImage);
      remove.addEventListener('click', () => {
        this.picked.splice(i, 1);
        this.render();
        this.onRemove();
      });
      item.append(remove);
      this.element.append(item);
    });
  }
}
