"""The CRM connection: Designer wired to a vtiger CRM through vtiger's webservice.

``client`` speaks the webservice; the other modules of this part read
vtiger's records into ours (in) and write the counts of opens and sends back
to vtiger (out). This part sits on top of the others: it may use records,
workflows, mail and tracking; none of them imports it.
"""
