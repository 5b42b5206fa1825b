package io.l4mesh.node.cli;

import io.l4mesh.node.admin.AdminClient;
import java.io.PrintWriter;
import java.net.ConnectException;

/** Runs one admin API call for a command and maps the outcome to output and an exit code. */
final class ApiCall {
    interface Call {
        AdminClient.Response run(AdminClient client) throws Exception;
    }

    interface Printer {
        void print(AdminClient.Response response, PrintWriter out) throws Exception;
    }

    private ApiCall() {
    }

    static int run(AdminOptions opts, PrintWriter out, PrintWriter err, Call call, Printer printer) {
        AdminClient.Response r;
        try {
            r = call.run(opts.client());
        } catch (ConnectException e) {
            err.println("l4mesh: no node answers on " + opts.admin + " (is it running? see --admin)");
            return L4meshCli.EXIT_FAILURE;
        } catch (Exception e) {
            err.println("l4mesh: " + opts.admin + ": " + e);
            return L4meshCli.EXIT_FAILURE;
        }
        if (opts.json) {
            out.print(r.body());
            out.flush();
            return r.ok() ? 0 : L4meshCli.EXIT_FAILURE;
        }
        if (!r.ok()) {
            err.println("l4mesh: " + r.error());
            return L4meshCli.EXIT_FAILURE;
        }
        try {
            printer.print(r, out);
        } catch (Exception e) {
            err.println("l4mesh: cannot read the node's answer: " + e.getMessage());
            return L4meshCli.EXIT_FAILURE;
        }
        out.flush();
        return 0;
    }
}
