/**
 * The transport's own limit: a bare `@grpc/grpc-js` server whose one unary method answers an
 * empty message at once. Run as a child process (like the OMA server it is compared with);
 * prints `LISTENING <port>` and serves until killed.
 */
import * as grpc from "@grpc/grpc-js";

export const NOOP_PATH = "/bench.v1.Noop/Call";

const passThrough = (b: Buffer): Buffer => b;
const server = new grpc.Server();
server.addService(
  {
    call: {
      path: NOOP_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: passThrough,
      requestDeserialize: passThrough,
      responseSerialize: passThrough,
      responseDeserialize: passThrough,
    },
  },
  { call: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.alloc(0)) },
);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(`LISTENING ${port}`);
});
