using System.Xml.Linq;

namespace Akka.EventDriven.Hosting.Tests;

/// <summary>
/// The production projects form a ladder (docs/architecture.md): a project references only projects on lower rungs,
/// never one beside it or above it, and no production project opens its internals to another one. The check reads
/// every <c>src/*/*.csproj</c>, so a reference that breaks the ladder fails here before it spreads.
/// </summary>
public sealed class DependencyLadderSpec
{
    /// <summary>The rungs, lowest first. A project not listed here fails the check until it is given a rung.</summary>
    public static readonly IReadOnlyDictionary<string, int> Rungs = new Dictionary<string, int>
    {
        ["Akka.EventDriven.Contracts"] = 0,       // type registry, serialization contracts, tracing helpers
        ["Akka.EventDriven.Storage"] = 1,         // every table and SQL statement, journals, the gap-safe reader
        ["Akka.EventDriven.Kafka"] = 1,           // an adapter: Akka.Streams + Confluent.Kafka (+ Contracts' tracing)
        ["Akka.EventDriven.Kafka.TestKit"] = 1,   // librdkafka's mock cluster for tests
        ["Akka.EventDriven.EventSourcing"] = 2,   // aggregates: sharded persistent actors
        ["Akka.EventDriven.Projections"] = 3,     // read models from the journal
        ["Akka.EventDriven.EventBus"] = 3,        // topics, queues, request-reply, dead letters
        ["Akka.EventDriven.Cqrs"] = 4,
        ["Akka.EventDriven.Sagas"] = 4,
        ["Akka.EventDriven.Streaming"] = 4,
        ["Akka.EventDriven.Hosting"] = 5,         // WithEventDriven: one call wires the modules
        ["Akka.EventDriven.Http"] = 6,            // the HTTP API, health, metrics and the console
        ["Akka.EventDriven.TestKit"] = 6,
        ["Akka.EventDriven.Service"] = 7,         // the deployable node
    };

    /// <summary>InternalsVisibleTo from one production project to another, each with the reason it is needed.</summary>
    public static readonly IReadOnlyDictionary<(string From, string To), string> JustifiedInternals = new Dictionary<(string, string), string>
    {
    };

    [Fact]
    public void Every_production_project_references_only_lower_rungs_and_opens_its_internals_to_no_other()
    {
        var projects = ReadProjects(RepositoryRoot());
        Assert.Contains("Akka.EventDriven.Hosting", projects.Keys); // the scan found the tree
        var problems = Problems(projects, Rungs, JustifiedInternals);
        Assert.True(problems.Count == 0, "The dependency ladder is broken:\n  " + string.Join("\n  ", problems));
    }

    /// <summary>What SQL looks like in a C# source: a statement keyword as it starts a statement or a clause.</summary>
    private static readonly System.Text.RegularExpressions.Regex Sql = new(
        @"CREATE (TABLE|INDEX|UNIQUE INDEX|DATABASE)|DROP (TABLE|DATABASE)|ALTER TABLE|\bSELECT [\w*(@]|INSERT INTO|UPDATE \w+ SET|DELETE FROM|PRAGMA ");   // upper case, as every statement here is written

    /// <summary>The lines outside src/Akka.EventDriven.Storage that hold SQL: file:line: text.</summary>
    public static IReadOnlyList<string> SqlOutsideStorage(string root) =>
        Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or "Akka.EventDriven.Storage"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(root, f), Line: i + 1, Text: line.Trim())))
            .Where(l => Sql.IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text}")
            .ToList();

    [Fact]
    public void Only_the_storage_project_holds_sql()
    {
        var root = RepositoryRoot();
        Assert.True(File.Exists(Path.Combine(root, "src", "Akka.EventDriven.Storage", "JournalReader.cs")), "the scan found the tree");
        var found = SqlOutsideStorage(root);
        Assert.True(found.Count == 0, "SQL outside src/Akka.EventDriven.Storage (the one storage seam):\n  " + string.Join("\n  ", found));
    }

    [Fact]
    public void The_sql_check_recognises_statements_and_not_prose()
    {
        foreach (var sql in new[] { "CREATE TABLE IF NOT EXISTS x (", "\"SELECT current_offset FROM projection_offsets\"", "SELECT 1", "SELECT t.ordering_id, t.tag, j.persistence_id",
                     "INSERT INTO bus_offsets", "UPDATE projection_offsets SET updated_at = @now", "DELETE FROM x", "PRAGMA journal_mode=WAL;",
                     "$\"DROP DATABASE IF EXISTS {name}\"" })
            Assert.Matches(Sql, sql);
        foreach (var prose in new[] { "/// <summary>Select the events from the journal.</summary>", "// insert the row, then update the offset",
                     "var selected = items.Select(i => i.From);" })
            Assert.DoesNotMatch(Sql, prose);
    }

    /// <summary>A public top-level declaration at the start of a line: its name (generic arity not part of it).</summary>
    private static readonly System.Text.RegularExpressions.Regex PublicType = new(
        @"^public (?:sealed |static |abstract |readonly |partial |ref )*(?:class|record struct|record class|record|struct|interface|enum) (\w+)|^public delegate [\w<>\[\], ?.]+? (\w+)\s*[(<]");

    /// <summary>The source files under src/ whose public types are not all named like the file (a file holds one
    /// public type, or a static class and the generic type of the same name): file: names.</summary>
    public static IReadOnlyList<string> FilesWithOtherPublicTypes(string root) =>
        Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Select(f => (File: f, Names: PublicTypeNames(File.ReadLines(f))))
            .Where(x => x.Names.Any(n => n != Path.GetFileNameWithoutExtension(x.File)))
            .Select(x => $"{Path.GetRelativePath(root, x.File)}: {string.Join(", ", x.Names)}")
            .ToList();

    private static List<string> PublicTypeNames(IEnumerable<string> lines) =>
        lines.Select(l => PublicType.Match(l)).Where(m => m.Success)
            .Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value).ToList();

    [Fact]
    public void Every_source_file_holds_one_public_type_named_like_it()
    {
        var root = RepositoryRoot();
        var found = FilesWithOtherPublicTypes(root);
        Assert.True(found.Count == 0, "Files under src/ with public types not named like the file:\n  " + string.Join("\n  ", found));
    }

    [Fact]
    public void The_public_type_check_reads_classes_records_enums_interfaces_and_delegates()
    {
        Assert.Equal(["Projection", "ProjectionState", "IOffsetStore", "RebuildHook", "JournalRow", "AggregateSpec", "AggregateSpec"],
            PublicTypeNames([
                "public sealed class Projection : IAsyncDisposable", "public enum ProjectionState", "public interface IOffsetStore",
                "public delegate Task RebuildHook(DbTransaction transaction, CancellationToken cancellationToken);",
                "public sealed record JournalRow(long Ordering, string PersistenceId);", "public static class AggregateSpec",
                "public sealed class AggregateSpec<TState> where TState : notnull", "internal sealed class Hidden",
                "    public sealed class Nested", "/// public class InProse",
            ]));
    }

    // The check itself must be able to fail.

    [Fact]
    public void The_check_names_a_reference_sideways_or_up_an_internals_opening_and_a_project_without_a_rung()
    {
        var projects = new Dictionary<string, ProjectFacts>
        {
            ["Low"] = new([], ["High", "Some.Tests"]),
            ["Mid"] = new(["Low", "Mid2"], []),
            ["Mid2"] = new(["Low"], []),
            ["High"] = new(["Mid", "Low"], []),
            ["Stray"] = new(["High"], []),
        };
        var rungs = new Dictionary<string, int> { ["Low"] = 0, ["Mid"] = 1, ["Mid2"] = 1, ["High"] = 2 };
        Assert.Equal([
            "Low opens its internals to High (InternalsVisibleTo between production projects needs a reason in JustifiedInternals)",
            "Mid (rung 1) references Mid2 (rung 1): a project references only lower rungs",
            "Stray has no rung: give it one in DependencyLadderSpec.Rungs and docs/architecture.md",
        ], Problems(projects, rungs, new Dictionary<(string, string), string>()));
        Assert.Empty(Problems(projects.Where(p => p.Key is not ("Mid" or "Stray")).ToDictionary(),
            rungs, new Dictionary<(string, string), string> { [("Low", "High")] = "a reason" }));
    }

    public sealed record ProjectFacts(IReadOnlyList<string> References, IReadOnlyList<string> InternalsVisibleTo);

    public static List<string> Problems(IReadOnlyDictionary<string, ProjectFacts> projects, IReadOnlyDictionary<string, int> rungs,
        IReadOnlyDictionary<(string, string), string> justified)
    {
        var problems = new List<string>();
        foreach (var (name, facts) in projects.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!rungs.TryGetValue(name, out var rung))
            {
                problems.Add($"{name} has no rung: give it one in DependencyLadderSpec.Rungs and docs/architecture.md");
                continue;
            }
            foreach (var reference in facts.References.Order(StringComparer.Ordinal))
                if (rungs.TryGetValue(reference, out var other) && other >= rung)
                    problems.Add($"{name} (rung {rung}) references {reference} (rung {other}): a project references only lower rungs");
            foreach (var friend in facts.InternalsVisibleTo.Order(StringComparer.Ordinal))
                if (projects.ContainsKey(friend) && !justified.ContainsKey((name, friend)))
                    problems.Add($"{name} opens its internals to {friend} (InternalsVisibleTo between production projects needs a reason in JustifiedInternals)");
        }
        return problems;
    }

    private static Dictionary<string, ProjectFacts> ReadProjects(string root) =>
        Directory.EnumerateFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Where(path => !path.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .ToDictionary(path => Path.GetFileNameWithoutExtension(path), path =>
            {
                var xml = XDocument.Load(path);
                var references = xml.Descendants("ProjectReference")
                    .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/'))).ToList();
                var internals = xml.Descendants("InternalsVisibleTo").Select(r => r.Attribute("Include")!.Value).ToList();
                return new ProjectFacts(references, internals);
            });

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Akka.EventDriven.sln"))) return dir.FullName;
        throw new InvalidOperationException("Akka.EventDriven.sln not found above " + AppContext.BaseDirectory);
    }
}
