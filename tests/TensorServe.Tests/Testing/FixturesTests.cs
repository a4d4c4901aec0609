using TensorServe.Testing;

namespace TensorServe.Tests.Testing;

public class FixturesTests
{
    [Fact]
    public void Root_InCheckout_IsSharedFixturesBesideTheRepository()
    {
        Assert.True(File.Exists(Path.Combine(Fixtures.RepoRoot, "Native.sln")), $"repo root: '{Fixtures.RepoRoot}'");
        Assert.Equal(Path.GetFullPath(Path.Combine(Fixtures.RepoRoot, "..", "shared", "fixtures")), Fixtures.Root);
        Assert.Equal(Path.Combine(Fixtures.Root, "onnx", "x.pb"), Fixtures.Path("onnx", "x.pb"));
    }

    [Fact]
    public void SkipReason_MatchesFolderPresence()
    {
        if (Directory.Exists(Fixtures.Root))
        {
            Assert.Null(Fixtures.SkipReason);
            Assert.Null(new FixtureFactAttribute().Skip);
        }
        else
        {
            Assert.StartsWith($"shared fixtures folder not found at {Fixtures.Root}: ", Fixtures.SkipReason);
            Assert.Equal(Fixtures.SkipReason, new FixtureTheoryAttribute().Skip);
        }
    }
}
