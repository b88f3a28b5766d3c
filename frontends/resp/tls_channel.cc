#include "frontends/resp/tls_channel.h"

#include <openssl/err.h>

namespace redcar::resp {

TlsChannel::TlsChannel(SSL_CTX* ctx) : ssl_(SSL_new(ctx)), in_(BIO_new(BIO_s_mem())), out_(BIO_new(BIO_s_mem())) {
  // A memory BIO with nothing in it asks to be retried, as a socket would.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_accept_state(ssl_);
}

TlsChannel::~TlsChannel() { SSL_free(ssl_); }

void TlsChannel::take_output(std::string* cipher) {
  char buf[16384];
  for (;;) {
    int n = BIO_read(out_, buf, sizeof(buf));
    if (n <= 0) break;
    cipher->append(buf, static_cast<size_t>(n));
  }
}

bool TlsChannel::receive(std::span<const uint8_t> bytes, std::string* plain, std::string* cipher) {
  if (!bytes.empty() && BIO_write(in_, bytes.data(), static_cast<int>(bytes.size())) <= 0) return false;
  if (!established_) {
    int rc = SSL_do_handshake(ssl_);
    take_output(cipher);
    if (rc != 1) {
      int err = SSL_get_error(ssl_, rc);
      ERR_clear_error();
      return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
    }
    established_ = true;
  }
  char buf[16384];
  for (;;) {
    int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n > 0) {
      plain->append(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    ERR_clear_error();
    take_output(cipher);  // a renegotiation or key update may answer
    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  }
}

bool TlsChannel::send(std::string_view plain, std::string* cipher) {
  while (!plain.empty()) {
    int n = SSL_write(ssl_, plain.data(), static_cast<int>(std::min<size_t>(plain.size(), 1u << 30)));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    plain.remove_prefix(static_cast<size_t>(n));
  }
  take_output(cipher);
  return true;
}

}  // namespace redcar::resp
