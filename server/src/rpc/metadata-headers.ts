import type { Metadata, MetadataValue } from "@grpc/grpc-js";

/**
 * A gRPC call's request metadata as the `Headers` Connect's handler context expects,
 * read in place. Node's HTTP/2 parser and grpc-js have already parsed and checked every
 * header, so a call that reads two of them (its bearer token, its trace context) does not
 * copy and re-validate all of them into a Fetch `Headers` first. Binary (`-bin`) values
 * read as base64, as on the wire; several values of one name read joined by ", ", as
 * `Headers` joins them. The first write turns it into a real `Headers` copy, which every
 * later call then uses.
 */
export class MetadataHeaders implements Headers {
  readonly #metadata: Metadata;
  readonly #contentType: string;
  #copy: Headers | undefined;

  constructor(metadata: Metadata, contentType: string) {
    this.#metadata = metadata;
    this.#contentType = contentType;
  }

  get(name: string): string | null {
    if (this.#copy) return this.#copy.get(name);
    const key = name.toLowerCase();
    if (key === "content-type") return this.#contentType;
    const values = this.#metadata.get(key);
    if (values.length === 0) return null;
    return values.length === 1 ? text(values[0]!) : values.map(text).join(", ");
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  set(name: string, value: string): void {
    this.#writable().set(name, value);
  }

  append(name: string, value: string): void {
    this.#writable().append(name, value);
  }

  delete(name: string): void {
    this.#writable().delete(name);
  }

  getSetCookie(): string[] {
    return this.#writable().getSetCookie();
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.#writable().forEach((value, key) => callback.call(thisArg, value, key, this));
  }

  entries(): ReturnType<Headers["entries"]> {
    return this.#writable().entries();
  }

  keys(): ReturnType<Headers["keys"]> {
    return this.#writable().keys();
  }

  values(): ReturnType<Headers["values"]> {
    return this.#writable().values();
  }

  [Symbol.iterator](): ReturnType<Headers[typeof Symbol.iterator]> {
    return this.#writable()[Symbol.iterator]();
  }

  /** The real `Headers` copy, made on first need: iteration and writes are rare on a request. */
  #writable(): Headers {
    if (!this.#copy) {
      const copy = new Headers({ "content-type": this.#contentType });
      for (const [key, values] of Object.entries(this.#metadata.toJSON())) {
        for (const value of values) copy.append(key, text(value));
      }
      this.#copy = copy;
    }
    return this.#copy;
  }
}

const text = (value: MetadataValue): string => (typeof value === "string" ? value : Buffer.from(value).toString("base64"));
