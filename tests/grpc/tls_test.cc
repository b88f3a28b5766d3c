// TLS on the gRPC listener. A CA, a server certificate for 127.0.0.1, a
// client certificate it signed, and a second CA with a client certificate of
// its own are made with the openssl command line in the test's folder. A
// TLS listener refuses plain text; with tls_client_ca_file set it refuses
// clients without a certificate and those whose certificate another CA
// signed, and serves those with one the CA signed.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/grpc/grpc_test_util.h"

namespace redcar::grpctest {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Certificates in a fresh folder.
class Certificates {
 public:
  ::testing::AssertionResult make() {
    std::ofstream(dir_.path() + "/server.ext") << "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                                  "keyUsage=digitalSignature,keyEncipherment\n"
                                                  "extendedKeyUsage=serverAuth\n";
    std::ofstream(dir_.path() + "/client.ext") << "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                                                  "extendedKeyUsage=clientAuth\n";
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    std::vector<std::string> steps = {
        "openssl req -x509 " + key + " -keyout ca.key -out ca.pem -days 2 -subj /CN=redcar-test-ca",
        "openssl req -x509 " + key + " -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=another-ca",
        "openssl req " + key + " -keyout server.key -out server.csr -subj /CN=127.0.0.1",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 -extfile server.ext "
        "-out server.pem",
        "openssl req " + key + " -keyout client.key -out client.csr -subj /CN=client",
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -set_serial 3 -days 2 -extfile client.ext "
        "-out client.pem",
        "openssl req " + key + " -keyout stranger.key -out stranger.csr -subj /CN=stranger",
        "openssl x509 -req -in stranger.csr -CA other-ca.pem -CAkey other-ca.key -set_serial 4 -days 2 "
        "-extfile client.ext -out stranger.pem",
    };
    for (auto& step : steps) {
      std::string cmd = "cd '" + dir_.path() + "' && " + step + " >>openssl.log 2>&1";
      if (std::system(cmd.c_str()) != 0) {
        return ::testing::AssertionFailure() << step << " failed:\n" << slurp(dir_.path() + "/openssl.log");
      }
    }
    return ::testing::AssertionSuccess();
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string pem(const std::string& name) const { return slurp(path(name)); }

  // Client credentials trusting `ca`, presenting `cert` (none if empty).
  std::shared_ptr<grpc::ChannelCredentials> client(const std::string& ca, const std::string& cert = "") const {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = pem(ca + ".pem");
    if (!cert.empty()) {
      o.pem_cert_chain = pem(cert + ".pem");
      o.pem_private_key = pem(cert + ".key");
    }
    return grpc::SslCredentials(o);
  }

 private:
  TempDir dir_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.make()); }

  ::testing::AssertionResult start(bool require_client_certificate) {
    ServerSetup s;
    s.grpc.tls_cert_file = certs_.path("server.pem");
    s.grpc.tls_key_file = certs_.path("server.key");
    if (require_client_certificate) s.grpc.tls_client_ca_file = certs_.path("ca.pem");
    return h_.start(s);
  }

  // An Append and a Read of it over a channel with `creds`.
  grpc::Status try_calls(std::shared_ptr<grpc::ChannelCredentials> creds) {
    auto stub = v1::Events::NewStub(h_.channel(creds));
    std::string stream = "s" + std::to_string(calls_++);
    auto a = append(*stub, stream, text_events(2));
    if (!a.ok()) return a.status;
    auto r = read(*stub, read_request(stream));
    if (r.status.ok() && r.events.size() != 2) return grpc::Status(grpc::StatusCode::DATA_LOSS, "read back wrong");
    return r.status;
  }

  Certificates certs_;
  Harness h_;
  int calls_ = 0;
};

TEST_F(TlsTest, ServesTlsAndRefusesPlainText) {
  ASSERT_TRUE(start(false));
  auto ok = try_calls(certs_.client("ca"));
  EXPECT_TRUE(ok.ok()) << describe(ok);
  // Without a client CA configured, a client certificate is not needed.
  auto with_cert = try_calls(certs_.client("ca", "client"));
  EXPECT_TRUE(with_cert.ok()) << describe(with_cert);
  auto plain = try_calls(grpc::InsecureChannelCredentials());
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(plain);
  // A client that does not trust the server's CA refuses the server.
  auto distrust = try_calls(certs_.client("other-ca"));
  EXPECT_EQ(distrust.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(distrust);
}

TEST_F(TlsTest, ClientCertificatesAreRequiredAndChecked) {
  ASSERT_TRUE(start(true));
  auto none = try_calls(certs_.client("ca"));
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(none);
  auto signed_by_ca = try_calls(certs_.client("ca", "client"));
  EXPECT_TRUE(signed_by_ca.ok()) << describe(signed_by_ca);
  auto stranger = try_calls(certs_.client("ca", "stranger"));
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(stranger);
  auto plain = try_calls(grpc::InsecureChannelCredentials());
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(plain);
  // Only the accepted client wrote anything.
  auto admin = v1::Events::NewStub(h_.channel(certs_.client("ca", "client")));
  v1::ListStreamsRequest req;
  auto l = unary<v1::ListStreamsResponse>(
      [&](grpc::ClientContext* c, const v1::ListStreamsRequest& r, v1::ListStreamsResponse* o) {
        return admin->ListStreams(c, r, o);
      },
      req);
  ASSERT_TRUE(l.ok()) << describe(l.status);
  EXPECT_EQ(std::vector<std::string>(l.resp.streams().begin(), l.resp.streams().end()),
            std::vector<std::string>{"s1"});
}

TEST_F(TlsTest, MissingFilesAreRefusedAtStart) {
  ServerSetup s;
  s.grpc.tls_cert_file = certs_.path("server.pem");
  s.grpc.tls_key_file = certs_.path("no-such.key");
  auto r = h_.start(s);
  EXPECT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("no-such.key"), std::string::npos) << r.message();
  h_.stop();
  ServerSetup c;
  c.grpc.tls_cert_file = certs_.path("server.pem");
  c.grpc.tls_key_file = certs_.path("server.key");
  c.grpc.tls_client_ca_file = certs_.path("no-such-ca.pem");
  auto rc = h_.start(c);
  EXPECT_FALSE(rc);
  EXPECT_NE(std::string(rc.message()).find("no-such-ca.pem"), std::string::npos) << rc.message();
}

}  // namespace
}  // namespace redcar::grpctest
