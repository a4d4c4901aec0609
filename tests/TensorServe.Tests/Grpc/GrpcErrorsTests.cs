using System.Text;
using Grpc.Core;
using TensorServe.Grpc;

namespace TensorServe.Tests.Grpc;

public class GrpcErrorsTests
{
    [Fact]
    public void Truncate_Exactly1024Bytes_Unchanged()
    {
        var message = new string('a', 1024);
        Assert.Same(message, GrpcErrors.Truncate(message));
    }

    [Fact]
    public void Truncate_LongerThan1024Bytes_CutsAndMarks()
    {
        var message = new string('a', 1000) + new string('b', 100);

        var truncated = GrpcErrors.Truncate(message);

        Assert.Equal(message[..1024] + "...TRUNCATED", truncated);
    }

    [Fact]
    public void Truncate_MultiByteCharacterAtTheCut_DropsWholeCharacter()
    {
        // 1023 ASCII bytes, then "é" (2 bytes) straddles the 1024-byte limit.
        var message = new string('a', 1023) + "éxyz";

        var truncated = GrpcErrors.Truncate(message);

        Assert.Equal(new string('a', 1023) + "...TRUNCATED", truncated);
        Assert.True(Encoding.UTF8.GetByteCount(truncated) <= 1024 + "...TRUNCATED".Length);
    }

    [Fact]
    public void Truncate_CountsBytesNotChars()
    {
        // 600 two-byte characters = 1200 bytes: over the limit although only 600 chars.
        var message = new string('é', 600);

        var truncated = GrpcErrors.Truncate(message);

        Assert.Equal(new string('é', 512) + "...TRUNCATED", truncated);
    }

    [Fact]
    public void ToRpcException_ServingException_KeepsCodeAndMessage()
    {
        var ex = GrpcErrors.ToRpcException(ServingException.NotFound("gone"), new TestCallContext(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal("gone", ex.Status.Detail);
    }

    [Fact]
    public void ToRpcException_OtherException_IsInternalWithMessage()
    {
        var ex = GrpcErrors.ToRpcException(new InvalidOperationException("boom"), new TestCallContext(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Equal("boom", ex.Status.Detail);
    }

    [Fact]
    public void ToRpcException_CancelledAfterDeadline_IsDeadlineExceeded()
    {
        var context = new TestCallContext { DeadlineValue = DateTime.UtcNow.AddSeconds(-1) };

        var ex = GrpcErrors.ToRpcException(new OperationCanceledException(), context,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
    }

    private sealed class TestCallContext : ServerCallContext
    {
        public DateTime DeadlineValue { get; init; } = DateTime.MaxValue;

        protected override string MethodCore => "/test/Method";
        protected override string HostCore => "localhost";
        protected override string PeerCore => "ipv4:127.0.0.1:1";
        protected override DateTime DeadlineCore => DeadlineValue;
        protected override Metadata RequestHeadersCore => [];
        protected override CancellationToken CancellationTokenCore => CancellationToken.None;
        protected override Metadata ResponseTrailersCore => [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore => new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
