using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace TensorServe.Grpc;

/// <summary>
/// The one place where failures become gRPC statuses, as TF Serving's <c>ToGRPCStatus</c> (spec §3.1): the code number
/// is kept, the message is cut to 1024 bytes plus <c>...TRUNCATED</c>, and nothing else (no details or trailers) is sent.
/// </summary>
internal static partial class GrpcErrors
{
    /// <summary><c>kErrorMessageLimit</c> in <c>model_servers/grpc_status_util.cc</c>.</summary>
    public const int MessageLimitBytes = 1024;

    public const string TruncatedSuffix = "...TRUNCATED";

    /// <summary>
    /// Maps an exception from a handler: <see cref="ServingException"/> keeps its code and message, cancellation becomes
    /// CANCELLED (DEADLINE_EXCEEDED once the call's deadline has passed), anything else is INTERNAL with its message and
    /// is logged, because it is a server bug rather than a bad request.
    /// </summary>
    public static RpcException ToRpcException(Exception exception, ServerCallContext context, ILogger logger)
    {
        switch (exception)
        {
            case RpcException rpc:
                return rpc;
            case ServingException serving:
                return new RpcException(new Status((StatusCode)(int)serving.Code, Truncate(serving.Message)));
            case OperationCanceledException when context.Deadline <= DateTime.UtcNow:
                return new RpcException(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"));
            case OperationCanceledException:
                return new RpcException(new Status(StatusCode.Cancelled, "Cancelled"));
            default:
                Log.UnexpectedError(logger, exception, context.Method);
                return new RpcException(new Status(StatusCode.Internal, Truncate(exception.Message)));
        }
    }

    /// <summary>
    /// Cuts <paramref name="message"/> to <see cref="MessageLimitBytes"/> UTF-8 bytes and appends
    /// <see cref="TruncatedSuffix"/> when it is longer. TF cuts at the byte; a .NET string cannot hold half a character,
    /// so a cut that would split a multi-byte character drops that whole character instead.
    /// </summary>
    public static string Truncate(string message)
    {
        // At most 3 UTF-8 bytes per UTF-16 char: short messages need no counting.
        if (message.Length * 3 <= MessageLimitBytes || Encoding.UTF8.GetByteCount(message) <= MessageLimitBytes)
        {
            return message;
        }
        var bytes = Encoding.UTF8.GetBytes(message);
        var cut = MessageLimitBytes;
        while (cut > 0 && (bytes[cut] & 0xC0) == 0x80)
        {
            cut--;
        }
        return string.Concat(Encoding.UTF8.GetString(bytes, 0, cut), TruncatedSuffix);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Error, Message = "Unexpected error in gRPC method {Method}")]
        public static partial void UnexpectedError(ILogger logger, Exception exception, string method);
    }
}
