namespace TensorServe.FunctionalTests.Process;

/// <summary>
/// A temporary folder with the demo models written by <c>TensorServe.ModelWriter</c>: <c>half_plus_two/1/model.onnx</c>,
/// <c>cifar10/1/model.onnx</c> and <c>models.config</c> (platform onnx, absolute base paths). Deleted on dispose.
/// </summary>
public sealed class DemoModelsDirectory : IDisposable
{
    public DemoModelsDirectory()
    {
        Root = Path.Combine(Path.GetTempPath(), "tensorserve-functional-" + Guid.NewGuid().ToString("N"));
        TensorServe.ModelWriter.Program.WriteAll(Root);
    }

    public string Root { get; }

    public string HalfPlusTwo => Path.Combine(Root, "half_plus_two");

    public string Cifar10 => Path.Combine(Root, "cifar10");

    public string ModelsConfig => Path.Combine(Root, "models.config");

    /// <summary>Writes <paramref name="text"/> to a file under the folder and returns its path.</summary>
    public string WriteFile(string name, string text)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A server that is still shutting down may hold a file; the OS temp cleaner gets it later.
        }
    }
}

/// <summary>One set of demo models per test class; process tests only read them.</summary>
public sealed class DemoModelsFixture : IDisposable
{
    public DemoModelsDirectory Directory { get; } = new();

    public void Dispose() => Directory.Dispose();
}
