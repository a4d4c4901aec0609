using TensorServe.Models;
using TensorServe.Models.Config;
using TensorServe.Testing;
using Tensorflow.Serving;

namespace TensorServe.Tests.Models.Config;

/// <summary>
/// <see cref="ModelConfigLoader"/>: text-format <c>ModelServerConfig</c> files to validated model configs, with TF
/// Serving's validation order and messages (spec §4.3, §5.5).
/// </summary>
public sealed class ModelConfigLoaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tensorserve-config-" + Guid.NewGuid().ToString("N"));

    public ModelConfigLoaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string text, string name = "models.config")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static IReadOnlyList<TensorServe.Models.ModelConfig> FromText(string text) =>
        ModelConfigLoader.FromProto(ProtoTextFormat.Parse<ModelServerConfig>(text));

    private static ServingException Rejected(string text)
    {
        var e = Assert.Throws<ServingException>(() => FromText(text));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        return e;
    }

    private static string Config(string name, string basePath, string extra = "model_platform: \"onnx\"") =>
        $"config {{ name: \"{name}\" base_path: \"{basePath}\" {extra} }}";

    private static string List(params string[] configs) => $"model_config_list {{ {string.Join(' ', configs)} }}";

    [Fact]
    public void LoadFile_TwoModels_NamesPathsPlatformsAndDefaultPolicyInFileOrder()
    {
        var path = Write("""
            model_config_list {
              config {
                name: 'half_plus_two'
                base_path: '/models/half_plus_two/'
                model_platform: 'onnx'
              }
              config {
                name: 'resnet'
                base_path: 's3://bucket/resnet'
                model_platform: 'tensorflow'
              }
            }
            """);

        var models = ModelConfigLoader.LoadFile(path);

        Assert.Equal(["half_plus_two", "resnet"], models.Select(m => m.Name));
        Assert.Equal(["/models/half_plus_two/", "s3://bucket/resnet"], models.Select(m => m.BasePath));
        Assert.Equal(["onnx", "tensorflow"], models.Select(m => m.Platform));
        Assert.All(models, m => Assert.Equal(new VersionPolicy.Latest(1), m.Policy));
        Assert.All(models, m => Assert.Empty(m.VersionLabels));
    }

    [Fact]
    public void LoadFile_TestdataStyleWithColonsAndCommas_Accepted()
    {
        // The style of tensorflow_serving's testdata/good_model_config.txt.
        var path = Write("""
            model_config_list: {
              config: { name: "half_plus_two", base_path: "/a", model_platform: "tensorflow" },
              config: { name: "half_plus_three", base_path: "/b", model_platform: "tensorflow" }
            }
            """);

        Assert.Equal(["half_plus_two", "half_plus_three"], ModelConfigLoader.LoadFile(path).Select(m => m.Name));
    }

    [Fact]
    public void FromProto_VersionPoliciesAndLabels_Carried()
    {
        var models = FromText(List(
            Config("latest", "/m/latest", "model_platform: 'onnx' model_version_policy { latest { num_versions: 2 } }"),
            Config("all", "/m/all", "model_platform: 'onnx' model_version_policy { all {} }"),
            Config("specific", "/m/specific",
                "model_platform: 'onnx' model_version_policy { specific { versions: 42 versions: 43 } } " +
                "version_labels { key: 'stable' value: 42 } version_labels { key: 'canary' value: 43 }")));

        Assert.Equal(new VersionPolicy.Latest(2), models[0].Policy);
        Assert.IsType<VersionPolicy.All>(models[1].Policy);
        Assert.Equal([42L, 43L], Assert.IsType<VersionPolicy.Specific>(models[2].Policy).Versions);
        Assert.Equal(42, models[2].VersionLabels["stable"]);
        Assert.Equal(43, models[2].VersionLabels["canary"]);
    }

    [Fact]
    public void FromProto_EmptyConfig_NoModels()
    {
        // ReloadConfig: "Taking no action for empty config." (config oneof unset).
        Assert.Empty(FromText(""));
        Assert.Empty(FromText("model_config_list {}"));
    }

    [Fact]
    public void FromProto_DeprecatedModelTypeTensorflow_MeansPlatformTensorflow()
    {
        var model = Assert.Single(FromText(List(Config("m", "/m", "model_type: TENSORFLOW"))));

        Assert.Equal("tensorflow", model.Platform);
    }

    [Theory]
    [InlineData("onnx")]
    [InlineData("tensorflow")]
    public void FromProto_SupportedPlatform_Accepted(string platform)
    {
        Assert.Equal(platform, Assert.Single(FromText(List(Config("m", "/m", $"model_platform: '{platform}'")))).Platform);
    }

    [Theory]
    [InlineData("pytorch")]
    [InlineData("ONNX")]
    [InlineData("tensorflow ")]
    public void FromProto_UnknownPlatform_UnsupportedPlatformMessage(string platform)
    {
        var e = Rejected(List(Config("m", "/m", $"model_platform: '{platform}'")));

        Assert.Equal($"Model m requests unsupported platform {platform}", e.Message);
    }

    [Fact]
    public void FromProto_NoPlatformNorModelType_NeitherMessage()
    {
        var e = Rejected(List(Config("m", "/m", extra: "")));

        Assert.Equal("Illegal setting neither ModelServerConfig::model_type (deprecated) nor " +
                     "ModelServerConfig::model_platform, model name is m", e.Message);
    }

    [Fact]
    public void FromProto_BothPlatformAndModelType_BothMessage()
    {
        var e = Rejected(List(Config("m", "/m", "model_type: TENSORFLOW model_platform: 'tensorflow'")));

        Assert.Equal("Illegal setting both ModelServerConfig::model_type (deprecated) and " +
                     "ModelServerConfig::model_platform, model name is m", e.Message);
    }

    [Fact]
    public void FromProto_ModelTypeOther_ChoiceNotSupported()
    {
        var e = Rejected(List(Config("m", "/m", "model_type: OTHER")));

        Assert.Equal("ModelServerConfig::model_type choice 2 not supported.", e.Message);
    }

    [Fact]
    public void FromProto_DuplicateName_IllegalToListMultipleTimes()
    {
        var e = Rejected(List(Config("a", "/a"), Config("b", "/b"), Config("a", "/c")));

        Assert.Equal("Illegal to list model a multiple times in config list", e.Message);
    }

    [Theory]
    [InlineData("relative/path")]
    [InlineData("./models/m")]
    [InlineData("")]
    [InlineData("1s3://bucket/m")] // io::ParseURI's scheme: a letter, then letters, digits or dots, then "://"
    [InlineData("dir/s3://bucket/m")]
    public void FromProto_RelativeBasePath_AbsolutePathOrUriMessage(string basePath)
    {
        var e = Rejected(List(Config("m", basePath)));

        Assert.Equal($"Expected model m to have an absolute path or URI; got base_path()={basePath}", e.Message);
    }

    [Theory]
    [InlineData("/abs/path")]
    [InlineData("gs://bucket/models/m")]
    [InlineData("s3://bucket/m")]
    [InlineData("hdfs://namenode:8020/m")]
    [InlineData("my.scheme2://host")]
    [InlineData("models://")]
    public void FromProto_AbsolutePathOrUri_Accepted(string basePath)
    {
        Assert.Equal(basePath, Assert.Single(FromText(List(Config("m", basePath)))).BasePath);
    }

    [Fact]
    public void FromProto_DuplicateNamesCheckedBeforePathsOverTheWholeList()
    {
        // ValidateModelConfigList checks every name first, then every path; platforms come later still.
        var e = Rejected(List(Config("a", "relative", "model_platform: 'nope'"), Config("a", "/b")));

        Assert.Equal("Illegal to list model a multiple times in config list", e.Message);
    }

    [Fact]
    public void FromProto_PathsCheckedBeforeAnyPlatform()
    {
        var e = Rejected(List(Config("a", "/a", "model_platform: 'nope'"), Config("b", "relative")));

        Assert.Equal("Expected model b to have an absolute path or URI; got base_path()=relative", e.Message);
    }

    [Fact]
    public void FromProto_PlatformErrorsInListOrder()
    {
        var e = Rejected(List(Config("a", "/a"), Config("b", "/b", "model_platform: 'nope'"), Config("c", "/c", "")));

        Assert.Equal("Model b requests unsupported platform nope", e.Message);
    }

    [Fact]
    public void ValidateBasePath_SingleModelFlags_SameRuleAndMessage()
    {
        ModelConfigLoader.ValidateBasePath("default", "/models/default");
        var e = Assert.Throws<ServingException>(() => ModelConfigLoader.ValidateBasePath("default", "models/default"));

        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Equal("Expected model default to have an absolute path or URI; got base_path()=models/default", e.Message);
    }

    [Fact]
    public void LoadFile_Missing_NotFoundWithPath()
    {
        var path = Path.Combine(_dir, "absent.config");

        var e = Assert.Throws<ServingException>(() => ModelConfigLoader.LoadFile(path));

        Assert.Equal(ErrorCode.NotFound, e.Code);
        Assert.Equal($"{path}; No such file or directory", e.Message);
    }

    [Fact]
    public void LoadFile_ParseError_InvalidProtobufFileAndProtobufLineOnTheLog()
    {
        var path = Write("model_config_list { config { name: 'm' base_path: '/m' model_platform: 'onnx' }");
        var log = new StringWriter();

        var e = Assert.Throws<ServingException>(() => ModelConfigLoader.LoadFile(path, log));

        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Equal($"Invalid protobuf file: '{path}'", e.Message);
        Assert.StartsWith("Error parsing text-format tensorflow.serving.ModelServerConfig: 1:", log.ToString(),
            StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_Utf8Bom_Rejected()
    {
        // protobuf's tokenizer does not skip a BOM; a config saved by a Windows editor fails as it does in TF Serving.
        var path = Path.Combine(_dir, "bom.config");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "model_config_list {}"u8]);

        var e = Assert.Throws<ServingException>(() => ModelConfigLoader.LoadFile(path, TextWriter.Null));

        Assert.Equal($"Invalid protobuf file: '{path}'", e.Message);
    }

    [FixtureFact]
    public void LoadFile_TfServingBadModelConfigFixture_FailsWithProtobufMessage()
    {
        var path = Fixtures.Path("tf_serving", "servables_testdata", "bad_model_config.txt");
        var log = new StringWriter();

        var e = Assert.Throws<ServingException>(() => ModelConfigLoader.LoadFile(path, log));

        Assert.Equal($"Invalid protobuf file: '{path}'", e.Message);
        Assert.Contains("Error parsing text-format tensorflow.serving.ModelServerConfig", log.ToString(),
            StringComparison.Ordinal);
    }

    [FixtureFact]
    public void LoadFile_TfServingGoodModelConfigFixture_TwoTensorflowModels()
    {
        // Its base paths are ${TEST_..._DIR} placeholders the upstream test substitutes; substitute them the same way.
        var text = File.ReadAllText(Fixtures.Path("tf_serving", "servables_testdata", "good_model_config.txt"))
            .Replace("${TEST_HALF_PLUS_TWO_DIR}", "/models/half_plus_two", StringComparison.Ordinal)
            .Replace("${TEST_HALF_PLUS_THREE_DIR}", "/models/half_plus_three", StringComparison.Ordinal);

        var models = ModelConfigLoader.LoadFile(Write(text));

        Assert.Equal(["half_plus_two", "half_plus_three"], models.Select(m => m.Name));
        Assert.Equal(["/models/half_plus_two", "/models/half_plus_three"], models.Select(m => m.BasePath));
        Assert.All(models, m => Assert.Equal("tensorflow", m.Platform));
    }

    [FixtureFact]
    public void LoadFile_TfServingGoodModelConfigFixtureUnsubstituted_RelativePathRejected()
    {
        // "${TEST_HALF_PLUS_TWO_DIR}" is not absolute and not a URI: TF Serving rejects the raw file the same way.
        var e = Assert.Throws<ServingException>(() =>
            ModelConfigLoader.LoadFile(Fixtures.Path("tf_serving", "servables_testdata", "good_model_config.txt")));

        Assert.Equal("Expected model half_plus_two to have an absolute path or URI; got base_path()=${TEST_HALF_PLUS_TWO_DIR}",
            e.Message);
    }
}
