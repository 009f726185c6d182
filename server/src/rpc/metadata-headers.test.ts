import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { MetadataHeaders } from "./metadata-headers.js";

describe("MetadataHeaders: a gRPC call's metadata read as Headers", () => {
  const metadata = () => {
    const m = new Metadata();
    m.set("authorization", "Bearer abc");
    m.add("x-many", "one");
    m.add("x-many", "two");
    m.set("trace-bin", Buffer.from([0, 1, 2, 255]));
    return m;
  };

  it("reads values as a Fetch Headers built from the same metadata would", () => {
    const headers = new MetadataHeaders(metadata(), "application/grpc");
    const fetchHeaders = new Headers({ "content-type": "application/grpc", authorization: "Bearer abc", "trace-bin": "AAEC/w==" });
    fetchHeaders.append("x-many", "one");
    fetchHeaders.append("x-many", "two");
    for (const name of ["Authorization", "x-many", "trace-bin", "content-type", "absent"]) expect(headers.get(name), name).toBe(fetchHeaders.get(name));
    expect(headers.has("AUTHORIZATION")).toBe(true);
    expect(headers.has("absent")).toBe(false);
    expect([...headers].sort()).toEqual([...fetchHeaders].sort());
  });

  it("a write goes to a copy that later reads see; the call's metadata is left as it was", () => {
    const source = metadata();
    const headers = new MetadataHeaders(source, "application/grpc");
    headers.set("authorization", "Bearer other");
    headers.append("x-new", "1");
    headers.delete("x-many");
    expect([headers.get("authorization"), headers.get("x-new"), headers.get("x-many")]).toEqual(["Bearer other", "1", null]);
    expect(source.get("authorization")).toEqual(["Bearer abc"]);
    expect(source.get("x-many")).toEqual(["one", "two"]);
  });
});
