// TLS for a connection whose bytes come and go by other means (the shard's
// io_uring): OpenSSL's state machine over two memory BIOs. Ciphertext that
// arrived goes in and plaintext comes out; plaintext to send goes in and
// ciphertext comes out, handshake records and alerts included. Server side
// only; the SSL_CTX decides certificates and client verification. One per
// connection, on its thread.
#pragma once

#include <openssl/ssl.h>

#include <span>
#include <string>
#include <string_view>

namespace redcar::resp {

class TlsChannel {
 public:
  explicit TlsChannel(SSL_CTX* ctx);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // Takes received bytes: appends what they decrypt to to *plain, and what
  // must be sent back (handshake records) to *cipher. False on a TLS error
  // (a bad certificate, a broken record): the connection must end.
  bool receive(std::span<const uint8_t> bytes, std::string* plain, std::string* cipher);
  // Encrypts `plain` onto *cipher. False on a TLS error.
  bool send(std::string_view plain, std::string* cipher);
  bool established() const { return established_; }

 private:
  void take_output(std::string* cipher);

  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // ciphertext from the peer (owned by ssl_)
  BIO* out_ = nullptr;  // ciphertext to the peer (owned by ssl_)
  bool established_ = false;
};

}  // namespace redcar::resp
