namespace TensorServe.Testing;

/// <summary>The ONNX backend-test dirs of the shared fixtures that ONNX Runtime 1.31.1 loads and runs.</summary>
public static class OnnxBackendTests
{
    /// <summary>Listed explicitly, so a fixture that goes missing fails instead of silently shrinking the set.</summary>
    public static readonly string[] Runnable =
    [
        "node/test_matmul_2d",
        "node/test_gemm_default_vector_bias",
        "node/test_add_bcast",
        "node/test_add_uint8",
        "node/test_softmax_example",
        "node/test_argmax_default_axis_example",
        "node/test_top_k",
        "node/test_gather_0",
        "node/test_where_example",
        "node/test_cast_FLOAT_to_DOUBLE",
        "node/test_cast_FLOAT_to_FLOAT16",
        "node/test_identity",
        "node/test_basic_conv_with_padding",
        "node/test_ai_onnx_ml_label_encoder_string_int",
        "node/test_equal_string",
        "node/test_string_concat",
        "simple/test_single_relu_model",
        "simple/test_sign_model",
        "simple/test_sequence_model1",
        // Opset 6 (pytorch-converted): ORT only guarantees opset 7+, but these operators still have opset-6 kernels.
        "pytorch-converted/test_Conv2d",
        "pytorch-converted/test_Embedding",
        "pytorch-converted/test_Softmax",
    ];

    /// <summary>A path under <c>onnx/onnx_backend_tests</c> of the shared fixtures.</summary>
    public static string Dir(string test) => Fixtures.Path("onnx", "onnx_backend_tests", test);
}
