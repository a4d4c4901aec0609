using Microsoft.ML.OnnxRuntime;

namespace TensorServe.Backends.Onnx;

/// <summary>
/// The one place where ONNX Runtime failures become <see cref="ServingException"/>s. ORT's managed exception carries its
/// native code only as a message prefix (<c>[ErrorCode:InvalidArgument] ...</c>; the enum is internal), so the code is
/// read from there and the prefix is dropped from the client-visible text.
/// </summary>
internal static class OnnxErrors
{
    private const string CodePrefix = "[ErrorCode:";

    /// <summary>Texts of kernel failures that are caused by the request's shapes, which ORT reports as RuntimeException.</summary>
    private static readonly string[] ShapeErrorMarkers =
        ["shape", "dimension", "broadcast", "rank", "Invalid input", "out of bounds", "out of range"];

    /// <summary>A failed <c>Run</c>: bad shapes/types are INVALID_ARGUMENT, everything else INTERNAL.</summary>
    public static ServingException FromRun(OnnxRuntimeException exception, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            // RunOptions.Terminate makes ORT fail the run; report it as TF reports a cancelled session run.
            return new ServingException(ErrorCode.Cancelled, "Run call was cancelled", exception);
        }
        var (code, message) = Split(exception.Message);
        if (code == "InvalidArgument" || ContainsAny(message, ShapeErrorMarkers))
        {
            return new ServingException(ErrorCode.InvalidArgument, message, exception);
        }
        return new ServingException(ErrorCode.Internal, message, exception);
    }

    /// <summary>A failed session creation; the message becomes the version's status.</summary>
    public static ServingException FromLoad(Exception exception, string modelPath)
    {
        if (exception is not OnnxRuntimeException)
        {
            // The managed wrapper's own checks (argument, interop or metadata errors): still this model's load failure.
            return new ServingException(ErrorCode.Internal,
                $"Failed to load ONNX model {modelPath}: {exception.Message}", exception);
        }
        var (code, message) = Split(exception.Message);
        var errorCode = code switch
        {
            "InvalidProtobuf" => ErrorCode.DataLoss,
            "NoSuchFile" or "NoModel" => ErrorCode.NotFound,
            "NotImplemented" => ErrorCode.Unimplemented,
            "EngineError" or "RuntimeException" => ErrorCode.Internal,
            _ => ErrorCode.InvalidArgument,
        };
        return new ServingException(errorCode, $"Failed to load ONNX model {modelPath}: {message}", exception);
    }

    /// <summary>Splits <c>[ErrorCode:Name] text</c> into the code name and ORT's text (trimmed).</summary>
    internal static (string Code, string Message) Split(string message)
    {
        if (message.StartsWith(CodePrefix, StringComparison.Ordinal))
        {
            var end = message.IndexOf(']', CodePrefix.Length);
            if (end > 0)
            {
                return (message[CodePrefix.Length..end], message[(end + 1)..].Trim());
            }
        }
        return ("", message.Trim());
    }

    private static bool ContainsAny(string text, string[] markers)
    {
        foreach (var marker in markers)
        {
            if (text.Contains(marker, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
