using System.Runtime.CompilerServices;

namespace IdentityGraph.Core.Tests;

/// <summary>
/// Locates the external test material in <c>../shared/data</c> (beside the repository root).
/// In CI (environment variable CI set) it must be there; elsewhere, tests that need it are reported as skipped
/// with a plain reason instead of failing for someone who cloned the repository alone.
/// </summary>
public static class SharedData
{
    public static string? Root { get; } = Locate();

    public static bool IsRequired => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    public static string MissingReason =>
        "../shared/data (external test material) is not beside this repository; clone it there to run this test.";

    /// <summary>The full path of a file under the shared data root; throws when the root is missing.</summary>
    public static string PathOf(string relative)
    {
        if (Root is null)
        {
            throw new InvalidOperationException(MissingReason);
        }

        var path = Path.Combine(Root, relative);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Shared test data file is missing: {path}", path);
        }

        return path;
    }

    private static string? Locate([CallerFilePath] string sourceFile = "")
    {
        var overridden = Environment.GetEnvironmentVariable("IDENTITYGRAPH_SHARED_DATA");
        if (!string.IsNullOrEmpty(overridden))
        {
            return Directory.Exists(overridden) ? overridden : null;
        }

        // Walk up from the test binary and from this source file until a directory has shared/data beside it.
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "data");
                if (Directory.Exists(candidate) && File.Exists(Path.Combine(candidate, "MANIFEST.tsv")))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}

/// <summary>A fact over ../shared/data: skipped with a plain reason when the data is absent outside CI; never skipped in CI.</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute()
    {
        if (SharedData.Root is null && !SharedData.IsRequired)
        {
            Skip = SharedData.MissingReason;
        }
    }
}

/// <summary>A theory over ../shared/data; see <see cref="SharedDataFactAttribute"/>.</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute()
    {
        if (SharedData.Root is null && !SharedData.IsRequired)
        {
            Skip = SharedData.MissingReason;
        }
    }
}
