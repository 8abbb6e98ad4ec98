using System.Text.RegularExpressions;

namespace Akka.EventDriven.Hosting.Tests;

/// <summary>
/// Akka.EventDriven.sln lists every project under src/, tests/ and samples/ exactly once, with balanced
/// Project/EndProject blocks and build configurations. A merge once dropped two EndProject lines, which nested two
/// projects inside others' blocks; <c>dotnet build</c> of the solution then silently built a different set.
/// </summary>
public sealed class SolutionFileSpec
{
    private const string SolutionName = "Akka.EventDriven.sln";

    [Fact]
    public void The_solution_lists_every_project_on_disk_exactly_once_in_well_formed_blocks()
    {
        var root = RepositoryRoot();
        var onDisk = new[] { "src", "tests", "samples" }
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(root, folder), "*.csproj", SearchOption.AllDirectories))
            .Select(path => Path.GetRelativePath(root, path).Replace('\\', '/'))
            .Where(path => !path.Split('/').Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Contains("src/Akka.EventDriven.Hosting/Akka.EventDriven.Hosting.csproj", onDisk); // the scan found the tree

        var problems = SolutionCheck.Problems(File.ReadAllLines(Path.Combine(root, SolutionName)), onDisk);

        Assert.True(problems.Count == 0, $"{SolutionName} is out of step with the projects on disk:\n  " + string.Join("\n  ", problems));
    }

    // The check itself must be able to fail: each defect below is one it has to name.

    private const string Cs = "FAE04EC0-301F-11D3-BF4B-00C04F79EFBC";
    private static readonly string[] Disk = ["src/A/A.csproj", "tests/A.Tests/A.Tests.csproj"];

    private static List<string> Solution(params string[] blocks)
    {
        var lines = new List<string> { "Microsoft Visual Studio Solution File, Format Version 12.00" };
        foreach (var block in blocks) lines.AddRange(block.Split('\n'));
        lines.AddRange([
            "Global",
            "\tGlobalSection(ProjectConfigurationPlatforms) = postSolution",
            "\t\t{00000000-0000-0000-0000-00000000000A}.Release|Any CPU.Build.0 = Release|Any CPU",
            "\t\t{00000000-0000-0000-0000-00000000000B}.Release|Any CPU.Build.0 = Release|Any CPU",
            "\tEndGlobalSection",
            "EndGlobal",
        ]);
        return lines;
    }

    private static string Block(string path, char guid, bool closed = true) =>
        $"Project(\"{{{Cs}}}\") = \"{Path.GetFileNameWithoutExtension(path)}\", \"{path.Replace('/', '\\')}\", \"{{00000000-0000-0000-0000-00000000000{guid}}}\""
        + (closed ? "\nEndProject" : "");

    [Fact]
    public void The_check_passes_a_well_formed_solution() =>
        Assert.Empty(SolutionCheck.Problems(Solution(Block(Disk[0], 'A'), Block(Disk[1], 'B')), Disk));

    [Fact]
    public void The_check_names_a_missing_EndProject()
    {
        var problems = SolutionCheck.Problems(Solution(Block(Disk[0], 'A', closed: false), Block(Disk[1], 'B')), Disk);
        Assert.Contains(problems, p => p.Contains("not closed by EndProject", StringComparison.Ordinal) && p.Contains("\"A\"", StringComparison.Ordinal));
    }

    [Fact]
    public void The_check_names_an_EndProject_without_a_block_and_a_block_open_at_the_end()
    {
        var stray = SolutionCheck.Problems(Solution(Block(Disk[0], 'A'), "EndProject", Block(Disk[1], 'B')), Disk);
        Assert.Contains(stray, p => p.Contains("EndProject without an open Project", StringComparison.Ordinal));

        var open = SolutionCheck.Problems(["Microsoft Visual Studio Solution File, Format Version 12.00", Block(Disk[0], 'A', closed: false)], [Disk[0]]);
        Assert.Contains(open, p => p.Contains("not closed by EndProject", StringComparison.Ordinal));
    }

    [Fact]
    public void The_check_names_a_project_missing_from_the_solution_listed_twice_or_not_on_disk()
    {
        var missing = SolutionCheck.Problems(Solution(Block(Disk[0], 'A')), Disk);
        Assert.Contains("tests/A.Tests/A.Tests.csproj is on disk but not in the solution", missing);

        var twice = SolutionCheck.Problems(Solution(Block(Disk[0], 'A'), Block(Disk[1], 'B'), Block(Disk[1], 'B')), Disk);
        Assert.Contains("tests/A.Tests/A.Tests.csproj is listed 2 times (must be once)", twice);

        var stale = SolutionCheck.Problems(Solution(Block(Disk[0], 'A'), Block(Disk[1], 'B'), Block("src/Gone/Gone.csproj", 'C')), Disk);
        Assert.Contains("src/Gone/Gone.csproj is listed but does not exist", stale);
    }

    [Fact]
    public void The_check_names_a_project_without_build_configurations() =>
        Assert.Contains(SolutionCheck.Problems(Solution(Block(Disk[0], 'A'), Block(Disk[1], 'B'), Block("src/C/C.csproj", 'C')), [.. Disk, "src/C/C.csproj"]),
            p => p.Contains("src/C/C.csproj has no build configuration", StringComparison.Ordinal));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, SolutionName))) return dir.FullName;
        throw new InvalidOperationException($"No {SolutionName} above {AppContext.BaseDirectory}.");
    }
}

/// <summary>Reads a .sln's lines and reports every way it is out of step with the project files on disk.</summary>
internal static partial class SolutionCheck
{
    [GeneratedRegex("""^Project\("\{[^}]+\}"\)\s*=\s*"(?<name>[^"]*)",\s*"(?<path>[^"]*)",\s*"\{(?<guid>[^}]+)\}"\s*$""")]
    private static partial Regex ProjectLine();

    /// <summary>The problems found, empty when the solution is in step: blocks that are not closed (or closings
    /// without a block), projects on disk that are listed other than once, listed projects that are not on disk,
    /// and listed projects with no build configuration. <paramref name="onDisk"/> holds repository-relative paths
    /// with forward slashes.</summary>
    public static List<string> Problems(IReadOnlyList<string> lines, IReadOnlyCollection<string> onDisk)
    {
        var problems = new List<string>();
        var listed = new List<(string Path, string Guid)>();
        string? open = null;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.StartsWith("Project(", StringComparison.Ordinal))
            {
                if (open is not null) problems.Add($"{open} is not closed by EndProject before line {i + 1}");
                var match = ProjectLine().Match(line);
                if (!match.Success)
                {
                    problems.Add($"line {i + 1} is not a Project line this check can read: {line}");
                    open = $"the Project block at line {i + 1}";
                    continue;
                }
                open = $"the Project block of \"{match.Groups["name"].Value}\" (line {i + 1})";
                var path = match.Groups["path"].Value.Replace('\\', '/');
                if (path.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase)) listed.Add((path, match.Groups["guid"].Value));
            }
            else if (line.TrimEnd() == "EndProject")
            {
                if (open is null) problems.Add($"line {i + 1}: EndProject without an open Project block");
                open = null;
            }
            else if (open is not null && line.TrimEnd() is "Global")
            {
                problems.Add($"{open} is not closed by EndProject before the Global section (line {i + 1})");
                open = null;
            }
        }
        if (open is not null) problems.Add($"{open} is not closed by EndProject at the end of the file");

        var counts = listed.GroupBy(p => p.Path, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var project in onDisk)
        {
            var count = counts.GetValueOrDefault(project);
            if (count == 0) problems.Add($"{project} is on disk but not in the solution");
            else if (count > 1) problems.Add($"{project} is listed {count} times (must be once)");
        }
        var disk = onDisk.ToHashSet(StringComparer.Ordinal);
        foreach (var path in counts.Keys.Where(p => !disk.Contains(p)).Order(StringComparer.Ordinal))
            problems.Add($"{path} is listed but does not exist");

        // A project without configuration lines is skipped by `dotnet build` of the solution.
        var text = string.Join('\n', lines);
        foreach (var (path, guid) in listed.DistinctBy(p => p.Path))
            if (!text.Contains($"{{{guid}}}.Release|Any CPU.Build.0", StringComparison.OrdinalIgnoreCase))
                problems.Add($"{path} has no build configuration (no {{{guid}}}.Release|Any CPU.Build.0 line)");
        return problems;
    }
}
