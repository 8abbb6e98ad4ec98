using Akka.Actor;
using Akka.EventDriven.Projections;
using Microsoft.AspNetCore.Http;

namespace Akka.EventDriven.Http.Internal;

/// <summary>Projections over HTTP: status and lag of those running on this node; pause, resume and rebuild.</summary>
internal sealed class ProjectionEndpoints(ActorSystem system)
{
    private static Task<IResult> Guard(Func<Task<IResult>> handler) => Problems.Guard(handler);

    private Projection Find(string name, string key)
    {
        Ids.Check(name, "name", 200);
        Ids.Check(key, "key", 200);
        return ProjectionRegistry.Get(system).Find(new ProjectionId(name, key))
               ?? throw new BadRequestException(404, "Unknown projection",
                   $"No projection '{name}/{key}' runs on this node (a cluster singleton runs on one node only).", "name");
    }

    internal static object View(ProjectionStatus s, bool canRebuild) => new
    {
        name = s.Id.Name, key = s.Id.Key, state = s.State.ToString(), offset = s.Offset, journalOffset = s.JournalOffset,
        eventsBehind = s.EventsBehind, secondsBehind = s.SecondsBehind, deadLetters = s.DeadLetters,
        lastError = s.LastError, skippedHoles = s.SkippedHoles, lastSkippedHole = s.LastSkippedHole, canRebuild,
        rebuildTarget = s.RebuildTarget, rebuildPercent = s.RebuildPercent,
    };

    public Task<IResult> List(HttpContext context) => Guard(async () =>
    {
        var views = new List<object>();
        foreach (var p in ProjectionRegistry.Get(system).Running)
            views.Add(View(await p.GetStatusAsync(context.RequestAborted), p.CanRebuild));
        return Results.Json(new { projections = views });
    });

    public Task<IResult> Get(string name, string key, HttpContext context) => Guard(async () =>
    {
        var p = Find(name, key);
        return Results.Json(View(await p.GetStatusAsync(context.RequestAborted), p.CanRebuild));
    });

    public Task<IResult> Act(string name, string key, string action, HttpContext context) => Guard(async () =>
    {
        var p = Find(name, key);
        switch (action)
        {
            case "pause":
                await p.PauseAsync(context.RequestAborted);
                break;
            case "resume":
                p.Resume();
                break;
            case "rebuild":
                if (!p.CanRebuild)
                    return Problems.Result(409, "Cannot rebuild",
                        $"Projection '{name}/{key}' has no ClearReadModel hook in its settings, so it cannot be rebuilt without code.");
                await p.RebuildAsync(context.RequestAborted);
                break;
            default:
                return Problems.Result(404, "Unknown action", $"'{action}' is not pause, resume or rebuild.", "action");
        }
        return Results.Json(View(await p.GetStatusAsync(context.RequestAborted), p.CanRebuild));
    });
}
