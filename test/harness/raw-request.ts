// One HTTP exchange on a raw TCP connection: the bytes are sent as given (fetch() would refuse a GET
// with a body, and would pool the connection), and everything the server sends until it closes is
// returned (latin1, so that byte counts hold).

/** Sends `request` to host:port on a new connection; resolves with all the server sent until it closed. */
export async function rawRequest(host: string, port: number, request: string): Promise<string> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open: (socket) => {
          socket.write(request);
        },
        data: (_socket, data) => {
          chunks.push(Buffer.from(data));
        },
        close: () => resolve(Buffer.concat(chunks).toString("latin1")),
        error: (_socket, err) => reject(err),
      },
    }).catch(reject);
  });
}
